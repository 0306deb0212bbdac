"""The simulated customer's phone ringing: answering the router's call back.

A caller who pressed 1 on hold hangs up and waits; when an agent claims the contact, the
router places a call through the REST API (the stand-in, ``ivr.simulator.api``) to the
caller's number. ``answer`` takes that call and runs it as any call: the router's TwiML
says hello and puts the customer through to the agent (``<Dial>``: connected).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from ivr.simulator.api import Placed, TwilioApi
from ivr.simulator.call import Call
from ivr.simulator.keys import KeySource
from ivr.simulator.models import CallResult, CallSpec, Echo, Signer

__all__ = ["answer", "wait_and_answer"]


def answered_spec(placed: Placed, like: CallSpec) -> CallSpec:
    """The spec of the answered call: the router's URLs as given (signed as they are),
    the speed and limits of ``like``."""
    parts = urlsplit(placed.url)
    return CallSpec(
        url=f"{parts.scheme}://{parts.netloc}",
        from_number=placed.from_,
        to_number=placed.to,
        call_sid=placed.call_sid,
        account_sid=like.account_sid,
        signed_base=None,
        speed=like.speed,
        max_hold_s=like.max_hold_s,
        max_requests=like.max_requests,
        transcript=like.transcript,
        direction="outbound-api",
        answer_url=placed.url,
        status_url=placed.status_callback,
    )


async def answer(
    session: aiohttp.ClientSession,
    placed: Placed,
    like: CallSpec,
    keys: KeySource,
    *,
    sign: Signer | None,
    echo: Echo | None = None,
    api: TwilioApi | None = None,
) -> CallResult:
    """Pick up ``placed`` and run the call to its end."""
    call = Call(session, answered_spec(placed, like), keys, sign=sign, echo=echo, api=api)
    return await call.run()


async def wait_and_answer(
    session: aiohttp.ClientSession,
    api: TwilioApi,
    like: CallSpec,
    keys: KeySource,
    *,
    sign: Signer | None,
    echo: Echo | None = None,
) -> CallResult | None:
    """Wait at the caller's number (``like.from_number``) for the router's call, up to
    ``like.max_hold_s`` call seconds (None: for ever), and answer it; None when none came."""
    number = like.from_number
    if echo is not None:
        echo(f"waiting for the call back to {number}")
    timeout_s = None if like.max_hold_s is None else like.max_hold_s / like.speed
    try:
        placed = await api.ringing(number, timeout_s)
    finally:
        api.hang_up_phone(number)
    if placed is None:
        if echo is not None:
            echo("no call back came")
        return None
    if echo is not None:
        echo(f"the phone rings: {placed.from_} is calling {number}")
    return await answer(session, placed, like, keys, sign=sign, echo=echo, api=api)
