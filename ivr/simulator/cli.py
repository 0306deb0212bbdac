"""``switchboard call``: one call (keypad or ``--press`` script) or many, printed or as JSON.

Exit status of one call: 0 connected to an agent, 1 an error (HTTP, TwiML), 2 bad options,
3 the call ended without an agent (hung up, on hold too long, the IVR hung up). Many calls:
0 when none failed, 1 otherwise. With ``--callback`` the caller presses 1 at the first
offer on hold, keeps their own number (``#``), and once the IVR has hung up waits (up to
``--max-hold-s``) for the router's call back, answers it and is put through to the agent:
the exit status is the call back's.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from typing import IO

import aiohttp

from ivr.errors import ScriptError
from ivr.simulator.api import TwilioApi
from ivr.simulator.call import Call, CallSpec, Outcome, Signer
from ivr.simulator.callback import wait_and_answer
from ivr.simulator.keys import KeypadKeys, KeySource, ScriptKeys, parse_press
from ivr.simulator.many import Progress, place_calls

__all__ = ["CliOptions", "run_cli"]


@dataclass(frozen=True, slots=True)
class CliOptions:
    url: str = "http://127.0.0.1:8080"
    from_number: str = "+48500100200"
    to_number: str = "+48221234567"
    press: str | None = None
    max_hold_s: float | None = None
    json: bool = False
    calls: int = 1
    concurrency: int = 1
    rate: float | None = None  # calls started a second (with calls > 1)
    speed: float = 1.0
    signed_base: str | None = None
    twilio_api: tuple[str, int] | None = None  # serve the REST API stand-in there
    account_sid: str | None = None
    callback: bool = False  # press 1 on hold, hang up, answer the router's call back


async def run_cli(
    options: CliOptions,
    *,
    sign: Signer | None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    keypad: IO[str] | None = None,
    auth_token: str | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    problem = _check(options)
    answers: tuple[str, ...] = ()
    if problem is None and options.press is not None:
        try:
            answers = parse_press(options.press)
            answers += ("1", "#") if options.callback else ()
        except ScriptError as exc:
            problem = str(exc)
    if problem is not None:
        print(f"switchboard call: {problem}", file=err)
        return 2
    spec = CallSpec(
        url=options.url,
        from_number=options.from_number,
        to_number=options.to_number,
        signed_base=options.signed_base,
        speed=options.speed,
        max_hold_s=options.max_hold_s,
    )
    if options.account_sid:
        spec = replace(spec, account_sid=options.account_sid)
    api: TwilioApi | None = None
    if options.twilio_api is not None:
        api = TwilioApi(account_sid=spec.account_sid, auth_token=auth_token or "", sign=sign)
        try:
            base = await api.start(*options.twilio_api)
        except OSError as exc:
            print(f"switchboard call: cannot serve the Twilio API stand-in: {exc}", file=err)
            return 1
        print(f"Twilio API stand-in on {base} (account {spec.account_sid})", file=err)
    try:
        return await _calls(options, spec, answers, sign, out, err, keypad, api)
    finally:
        if api is not None:
            await api.aclose()


async def _calls(
    options: CliOptions,
    spec: CallSpec,
    answers: tuple[str, ...],
    sign: Signer | None,
    out: IO[str],
    err: IO[str],
    keypad: IO[str] | None,
    api: TwilioApi | None,
) -> int:
    if options.calls > 1:
        return await _many(options, spec, answers, sign, out, err, api)
    keys: KeySource = ScriptKeys(answers) if options.press is not None else KeypadKeys(keypad)

    def echo(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            echoed = None if options.json else echo
            if options.callback and api is not None:
                api.phone(spec.from_number)  # listening before 1 is pressed
            call = Call(session, spec, keys, sign=sign, echo=echoed, api=api)
            result = await call.run()
            if options.callback and api is not None and result.outcome is Outcome.ENDED:
                back = await wait_and_answer(session, api, spec, keys, sign=sign, echo=echoed)
                result.callback = back
                if back is None:
                    result.reason = "no_callback"
    finally:
        keys.close()
    if options.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2), file=out)
    elif result.error:
        print(f"switchboard call: {result.error}", file=err)
    return result.exit_code


async def _many(
    options: CliOptions,
    spec: CallSpec,
    answers: tuple[str, ...],
    sign: Signer | None,
    out: IO[str],
    err: IO[str],
    api: TwilioApi | None,
) -> int:
    if spec.max_hold_s is None:
        # Unattended calls must end: without --max-hold-s they hang up once queued.
        spec = replace(spec, max_hold_s=0.0)
    # A crowd's transcripts would be most of the memory: kept only when printed.
    spec = replace(spec, transcript=options.json)
    tty = err.isatty()

    def progress(now: Progress) -> None:
        print(("\r" if tty else "") + now.render(), end="" if tty else "\n", file=err, flush=True)

    results, summary = await place_calls(
        spec,
        answers,
        calls=options.calls,
        concurrency=options.concurrency,
        rate=options.rate,
        sign=sign,
        api=api,
        progress=progress,
        progress_s=1.0 if tty else 10.0,
    )
    if tty:
        print(file=err)
    if options.json:
        body = {"summary": summary.to_json(), "calls": [r.to_json() for r in results]}
        print(json.dumps(body, ensure_ascii=False, indent=2), file=out)
    else:
        print(summary.render(), file=out)
        for result in results:
            if result.error:
                print(f"  {result.call_sid}: {result.error}", file=out)
                break  # one is enough to see what is wrong
    return 1 if summary.errors else 0


def _check(options: CliOptions) -> str | None:
    if options.calls < 1:
        return f"--calls must be 1 or more, not {options.calls}"
    if options.concurrency < 1:
        return f"--concurrency must be 1 or more, not {options.concurrency}"
    if options.rate is not None and not options.rate > 0:
        return f"--rate must be above 0, not {options.rate}"
    if options.speed <= 0:
        return f"--speed must be above 0, not {options.speed}"
    if options.max_hold_s is not None and options.max_hold_s < 0:
        return f"--max-hold-s must be 0 or more, not {options.max_hold_s}"
    if options.calls > 1 and options.press is None:
        return "--calls needs --press: many calls cannot share one keypad"
    if options.callback and (options.calls > 1 or options.twilio_api is None):
        return "--callback is for one call, and needs --twilio-api (the router calls back there)"
    if not options.url.startswith(("http://", "https://")):
        return f"--url {options.url!r} is not an http:// or https:// URL"
    return None
