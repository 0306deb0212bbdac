"""Where the simulated caller's keys come from: a ``--press`` script or the terminal keypad.

A script answers successive ``<Gather>``s, one answer each: ``"2 1001# 482913# 2"``; ``-``
is an answer of silence (the Gather times out). When the script runs out at a Gather, the
caller has nothing more to say and hangs up. The keypad reads single keys from the terminal
(0-9 * #) as they are pressed; other keys are ignored, end of input hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections import deque
from collections.abc import Sequence
from typing import IO, Any, Protocol

from ivr.errors import ScriptError
from ivr.simulator.twiml import KEYS

__all__ = ["KeySource", "KeypadKeys", "ScriptError", "ScriptKeys", "parse_press"]

SILENCE = "-"


def parse_press(script: str) -> tuple[str, ...]:
    """The answers of a ``--press`` script, checked: keys 0-9 * #, or ``-`` for silence."""
    answers = tuple(script.split())
    for answer in answers:
        if answer != SILENCE and any(key not in KEYS for key in answer):
            raise ScriptError(
                f"--press answer {answer!r} is not keys; use 0-9 * # (e.g. 1001#), "
                f"or {SILENCE} to press nothing"
            )
    return answers


class KeySource(Protocol):
    """Keys pressed during a ``<Gather>``; ``interactive`` when a person presses them."""

    interactive: bool

    def begin(self) -> bool:
        """A Gather starts; False when the caller has nothing more to press (hangs up)."""

    async def key(self, timeout_s: float) -> str | None:
        """The next key pressed within ``timeout_s`` real seconds, or None."""

    def close(self) -> None: ...


class ScriptKeys:
    """One answer of the script per Gather; its keys are pressed at once."""

    interactive = False

    def __init__(self, answers: Sequence[str]) -> None:
        self._answers = deque(answers)
        self._pending: deque[str] = deque()
        self.ignored: list[str] = []  # keys left over when a Gather ended early

    @property
    def left(self) -> int:
        return len(self._answers)

    def begin(self) -> bool:
        if self._pending:
            self.ignored.append("".join(self._pending))
            self._pending.clear()
        if not self._answers:
            return False
        answer = self._answers.popleft()
        self._pending.extend("" if answer == SILENCE else answer)
        return True

    async def key(self, timeout_s: float) -> str | None:
        if self._pending:
            return self._pending.popleft()
        await asyncio.sleep(timeout_s)
        return None

    def close(self) -> None:
        return None


class KeypadKeys:
    """Keys from a terminal (single key presses, not echoed by the terminal) or a pipe.

    A daemon thread reads the input, so a pending read never keeps the process alive; on a
    terminal the mode is restored by ``close``.
    """

    interactive = True

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._closed = False  # end of input: no more keys will come
        self._thread: threading.Thread | None = None
        self._saved_tty: list[Any] | None = None

    def begin(self) -> bool:
        if self._thread is None:
            self._start()
        return not (self._closed and self._queue.empty())

    async def key(self, timeout_s: float) -> str | None:
        try:
            async with asyncio.timeout(timeout_s):
                return await self._queue.get()
        except TimeoutError:
            return None

    def close(self) -> None:
        if self._saved_tty is not None:
            import termios

            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(self._stream.fileno(), termios.TCSADRAIN, self._saved_tty)
            self._saved_tty = None

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        fd: int | None = None
        with contextlib.suppress(AttributeError, OSError, ValueError):
            fd = self._stream.fileno()
        if fd is not None and os.isatty(fd):
            import termios
            import tty

            self._saved_tty = termios.tcgetattr(fd)
            tty.setcbreak(fd)

        def read() -> None:
            try:
                while True:
                    if fd is not None:
                        chunk = os.read(fd, 64).decode("utf-8", "replace")
                    else:
                        chunk = self._stream.read(1)
                    if not chunk:
                        loop.call_soon_threadsafe(setattr, self, "_closed", True)
                        return
                    for char in chunk:
                        if char in KEYS:
                            loop.call_soon_threadsafe(self._queue.put_nowait, char)
            except (OSError, RuntimeError):  # input gone, or the call is over (loop closed)
                return

        self._thread = threading.Thread(target=read, name="keypad", daemon=True)
        self._thread.start()
