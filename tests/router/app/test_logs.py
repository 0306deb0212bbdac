"""The log writer: one write per turn of the event loop, every line kept, in order."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading

import pytest
import structlog

from router.app.logs import LineWriter, configure_logging


class Recording(io.StringIO):
    """A file that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_the_lines_of_one_turn_go_out_in_one_write_at_the_next() -> None:
    file = Recording()
    writer = LineWriter(file)
    for n in range(50):
        writer.info(f"line {n}")
    assert file.writes == 0  # not in this turn
    await asyncio.sleep(0)
    assert file.writes == 1
    assert file.getvalue().splitlines() == [f"line {n}" for n in range(50)]
    writer.warning("later")
    await asyncio.sleep(0)
    assert file.writes == 2 and file.getvalue().endswith("line 49\nlater\n")


def test_outside_a_loop_a_line_is_written_at_once_after_those_waiting() -> None:
    file = Recording()
    writer = LineWriter(file)

    async def turn() -> None:
        writer.info("in the loop")
        # Another thread logs while the loop's line waits: both go out, in order.
        thread = threading.Thread(target=writer.error, args=("from a thread",))
        thread.start()
        thread.join()

    asyncio.run(turn())
    assert file.getvalue() == "in the loop\nfrom a thread\n"
    writer.info("after the loop")
    assert file.getvalue().endswith("from a thread\nafter the loop\n")


def test_a_line_left_when_the_loop_stops_is_written_by_flush() -> None:
    file = Recording()
    writer = LineWriter(file)

    async def last_words() -> None:
        writer.info("last")

    asyncio.run(last_words())  # the loop closed before the next turn
    writer.flush()  # as at exit (atexit)
    assert file.getvalue() == "last\n"


async def test_configured_logging_writes_json_lines_through_the_writer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(level=logging.INFO, json=True)
    try:
        log = structlog.get_logger("test")
        log.debug("hidden")
        log.info("shown", n=1)
        log.warning("also", n=2)
        await asyncio.sleep(0)
        events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert [(e["event"], e["n"], e["level"]) for e in events] == [
            ("shown", 1, "info"),
            ("also", 2, "warning"),
        ]
    finally:
        structlog.reset_defaults()
