"""The IVR simulator: one phone call placed on the voice webhooks, exactly as Twilio would.

It POSTs the form fields Twilio sends (CallSid, AccountSid, From, To, CallStatus, Direction,
...) signed with X-Twilio-Signature, then executes the TwiML verbs of each answer in order:
``Say`` is printed with its language, ``Pause`` waits, ``Gather`` takes keys (from a script
or the keypad) and honours timeout, numDigits and finishOnKey, ``Redirect`` and a Gather's
action fetch the next document, ``Dial`` connects (the call is done), ``Hangup`` ends it.
When the caller hangs up (no keys left, ``max_hold_s`` on hold passed, Ctrl-C) or the call
ends, the status callback is sent with ``CallStatus=completed``. A Gather followed by a
Pause is an offer made on hold (a callback): a caller with nothing left to press ignores it
and keeps holding. A call the router placed (a call back, ``CallSpec.answer_url``) runs the
same way once answered.

Time runs ``speed`` times faster than real time: pauses, Gather timeouts and ``max_hold_s``
are call seconds. The signature is computed by an injected ``sign(url, form)`` (the router
passes twilio's), so this module needs no vendor SDK.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urljoin

import aiohttp

from ivr.errors import CallFailed
from ivr.simulator.api import TwilioApi
from ivr.simulator.keys import KeySource
from ivr.simulator.models import (
    CallResult,
    CallSpec,
    Echo,
    Outcome,
    Signer,
    new_call_sid,
)
from ivr.simulator.twiml import (
    Dial,
    Gather,
    Hangup,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
    Verb,
    parse,
)
from ivr.simulator.webhook import Fetch, Webhooks
from queues import stop_tasks

__all__ = ["Call", "CallFailed", "CallResult", "CallSpec", "Outcome", "Signer", "new_call_sid"]


class Call:
    """One simulated call; ``run`` places it and returns its result (it never raises for
    what the server does: failures are the ERROR outcome)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        spec: CallSpec,
        keys: KeySource,
        *,
        sign: Signer | None,
        echo: Echo | None = None,
        api: TwilioApi | None = None,
    ) -> None:
        if spec.speed <= 0:
            raise ValueError(f"speed must be above 0, not {spec.speed}")
        self._spec = spec
        self._keys = keys
        self._echo = echo
        self.result = CallResult(spec.call_sid, spec.from_number)
        self._http = Webhooks(session, spec, self.result, sign=sign, event=self._event)
        self._started = 0.0
        self._hold_since: float | None = None
        self._answered_at = 0.0  # call seconds at the last keypad answer
        self._api = api
        self._changed = asyncio.Event()  # the REST API redirected or ended the call
        self._redirect: Fetch | tuple[str, tuple[Verb, ...]] | None = None
        self._ended_by_api = False
        self.over = False

    @property
    def call_sid(self) -> str:
        return self._spec.call_sid

    @property
    def speed(self) -> float:
        """Call seconds per real second."""
        return self._spec.speed

    # -- what the REST API stand-in asks (``ivr.simulator.api``) -------------------------
    def redirect(self, *, url: str | None, method: str = "POST", twiml: str | None = None) -> None:
        """Twilio's call update: stop what the call does and fetch ``url`` (or run
        ``twiml``) now."""
        if twiml is not None:
            self._redirect = ("", parse(twiml))
        elif url is not None:
            self._redirect = Fetch(url, method, {})
        self._changed.set()

    def hang_up_by_api(self) -> None:
        """Twilio's call update with ``Status=completed``: the call ends now."""
        self._ended_by_api = True
        self._changed.set()

    # -- the call --------------------------------------------------------------------------
    async def run(self) -> CallResult:
        spec = self._spec
        self._started = time.monotonic()
        if self._api is not None:
            self._api.register(self)
        if spec.answer_url:
            self._say(f"answering a call from {spec.from_number} ({spec.answer_url})")
        else:
            self._say(f"calling {spec.url.rstrip('/')}{spec.voice_path} from {spec.from_number}")
        try:
            self.result.outcome = await self._converse()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # Ctrl-C: the caller hangs up, and Twilio tells the server
            self._caller_hangs_up("interrupted")
        except CallFailed as exc:
            self.result.outcome = Outcome.ERROR
            self.result.error = str(exc)
            self._event("error", message=str(exc))
            self._say(f"error: {exc}")
        self.result.duration_s = self._now()
        self.over = True
        if self._api is not None:
            self._api.unregister(self)
        await self._http.status_callback()
        return self.result

    async def _converse(self) -> Outcome:
        spec = self._spec
        if spec.answer_url:
            fetch = Fetch(spec.answer_url, "POST", {})
        else:
            fetch = Fetch(spec.url.rstrip("/") + spec.voice_path, "POST", {"CallStatus": "ringing"})
        document_url, verbs = fetch.url, await self._http.request(fetch)
        while True:
            step = await self._interruptible(self._execute(verbs, document_url))
            if step is None:  # the REST API changed the call meanwhile
                if self._ended_by_api:
                    self._event("hangup", by="api", reason="completed")
                    self._say("the call was ended through the REST API")
                    self.result.reason = "api_completed"
                    return Outcome.ENDED
                redirect, self._redirect = self._redirect, None
                self._event("api_redirect", to=getattr(redirect, "url", "twiml"))
                if isinstance(redirect, tuple):
                    verbs = redirect[1]
                    continue
                assert redirect is not None
                step = Fetch(urljoin(document_url, redirect.url), redirect.method, {})
            if isinstance(step, Outcome):
                return step
            document_url, verbs = step.url, await self._http.request(step)

    async def _interruptible(
        self, work: Coroutine[Any, Any, Fetch | Outcome]
    ) -> Fetch | Outcome | None:
        """Run ``work`` (executing a document) unless the REST API changes the call first:
        then it is stopped and None returned."""
        if self._api is None:
            return await work
        if self._changed.is_set():
            work.close()
            self._changed.clear()
            return None
        doing = asyncio.create_task(work)
        changed = asyncio.create_task(self._changed.wait())
        try:
            done, _ = await asyncio.wait({doing, changed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Only the unfinished: a finished `doing` raises from .result() below, and
            # here its error would replace a cancel of this task on its way out.
            await stop_tasks(*(task for task in (doing, changed) if not task.done()))
        if doing in done:
            # A change that came as the document ended applies at the next one.
            return doing.result()
        self._changed.clear()
        return None

    async def _execute(self, verbs: tuple[Verb, ...], document_url: str) -> Fetch | Outcome:
        for at, verb in enumerate(verbs):
            if isinstance(verb, Say | Play):
                self._hear(verb)
            elif isinstance(verb, Pause):
                if not await self._pause(verb):
                    return self._caller_hangs_up("max_hold")
            elif isinstance(verb, Gather):
                offer = at + 1 < len(verbs) and isinstance(verbs[at + 1], Pause)
                fetch = await self._gather(verb, document_url, offer=offer)
                if isinstance(fetch, Outcome | Fetch):
                    return fetch
            elif isinstance(verb, Redirect):
                self._event("redirect", url=verb.url, method=verb.method)
                return Fetch(urljoin(document_url, verb.url), verb.method, {})
            elif isinstance(verb, Dial):
                return self._dial(verb)
            elif isinstance(verb, Hangup | Reject):
                reason = verb.reason if isinstance(verb, Reject) else "hangup"
                self._event("hangup", by="ivr", reason=reason)
                self._say("the IVR hung up")
                self.result.reason = reason
                return Outcome.ENDED
        self._event("hangup", by="ivr", reason="end_of_document")
        self._say("the IVR's document ended; the call is over")
        self.result.reason = "end_of_document"
        return Outcome.ENDED

    # -- verbs -----------------------------------------------------------------------------
    def _hear(self, verb: Say | Play) -> None:
        if isinstance(verb, Say):
            self._event("say", language=verb.language, text=verb.text, voice=verb.voice)
            self._say(f"[{verb.language}] {verb.text}")
        else:
            self._event("play", url=verb.url)
            self._say(f"[play] {verb.url}")

    async def _pause(self, pause: Pause) -> bool:
        """Wait on hold; False when the caller gives up (``max_hold_s`` passed)."""
        now = self._now()
        if self._hold_since is None:
            self._hold_since = now
            if self.result.queued_at_s is None:
                self.result.queued_at_s = now
            self._say("   (on hold)")
        self._event("pause", length_s=pause.length_s)
        limit = self._spec.max_hold_s
        if limit is None:
            await self._sleep(pause.length_s)
            return True
        left = limit - (now - self._hold_since)
        if left <= 0:
            return False
        await self._sleep(min(pause.length_s, left))
        return pause.length_s < left

    async def _gather(
        self, gather: Gather, document_url: str, *, offer: bool = False
    ) -> Fetch | Outcome | None:
        if not offer:
            self._hold_since = None  # the caller is asked something: not on hold
            if self.result.asked_at_s is None:
                self.result.asked_at_s = self._now()
        for prompt in gather.prompts:
            if isinstance(prompt, Pause):
                self._event("pause", length_s=prompt.length_s)
                await self._sleep(prompt.length_s)
            else:
                self._hear(prompt)
        if not self._keys.begin():
            # An offer on hold is let pass (the caller holds on); a question is not.
            return None if offer else self._caller_hangs_up("no_more_keys")
        if self._keys.interactive:
            finish = f", {gather.finish_on_key} ends" if gather.finish_on_key else ""
            self._say(f"   keypad 0-9 * #{finish}; {gather.timeout_s} s to answer")
        pressed, digits, ended = "", "", "timeout"
        while True:
            key = await self._keys.key(gather.timeout_s / self._spec.speed)
            if key is None:
                break
            pressed += key
            if gather.finish_on_key and key == gather.finish_on_key:
                ended = "finish_on_key"
                break
            digits += key
            if gather.num_digits is not None and len(digits) >= gather.num_digits:
                ended = "num_digits"
                break
        self._event(
            "gather",
            num_digits=gather.num_digits,
            finish_on_key=gather.finish_on_key,
            timeout_s=gather.timeout_s,
            pressed=pressed,
            digits=digits,
            ended=ended,
        )
        self._say(f"   pressed {pressed}" if pressed else "   (no input)")
        if pressed or not offer:
            self._answered_at = self._now()
        action = urljoin(document_url, gather.action) if gather.action else document_url
        finished = gather.finish_on_key if ended == "finish_on_key" else ""
        if digits:
            return Fetch(action, gather.method, {"Digits": digits, "FinishedOnKey": finished})
        if gather.action_on_empty_result:
            return Fetch(action, gather.method, {"Digits": "", "FinishedOnKey": finished})
        return None  # Twilio goes on with the verb after the Gather

    def _dial(self, dial: Dial) -> Outcome:
        target = dial.targets[0]
        agent = target.params.get("agent") or target.value
        self._event("dial", kind=target.kind, to=target.value, agent=agent)
        via = f" ({target.kind} {target.value})" if agent != target.value else ""
        self._say(f"connected to agent {agent}{via}")
        self.result.agent = agent
        self.result.reason = "dial"
        self.result.connected_at_s = self._now()
        if self.result.queued_at_s is None:  # put through before any hold pause
            self.result.queued_at_s = self._answered_at
        return Outcome.CONNECTED

    def _caller_hangs_up(self, reason: str) -> Outcome:
        on_hold = self._hold_since is not None
        self._event("hangup", by="caller", reason=reason)
        self._say(f"you hung up ({reason.replace('_', ' ')})")
        self.result.reason = reason
        self.result.outcome = Outcome.ABANDONED if on_hold else Outcome.HUNG_UP
        return self.result.outcome

    # -- time and output -------------------------------------------------------------------
    def _now(self) -> float:
        """Call seconds since the call started."""
        return (time.monotonic() - self._started) * self._spec.speed

    async def _sleep(self, call_s: float) -> None:
        await asyncio.sleep(call_s / self._spec.speed)

    @property
    def on_hold(self) -> bool:
        return self._hold_since is not None and not self.over

    @property
    def in_ivr(self) -> bool:
        """The call goes on and has not reached the hold yet."""
        return self._hold_since is None and not self.over

    def _event(self, event_type: str, /, **data: Any) -> None:
        if self._spec.transcript:
            self.result.events.append({"type": event_type, "at_s": round(self._now(), 3), **data})

    def _say(self, line: str) -> None:
        if self._echo is not None:
            self._echo(line)
