"""What taking a mail costs the store: a customer's first mail is a fixed, counted set of
store calls on every backend (so a step that adds one fails here), and the thread record a
first mail writes without reading is the one a read would have written."""

from __future__ import annotations

import collections
import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from queues import Store
from tests.channels.email.support import SUPPORT, MailDesk, mail_desk, make_mail, message_id_of
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]

#: A first mail's store calls, the outage watch's aside (its topic counts are flushed in
#: groups by a task of their own): one quick turn (the contact, the mail, the prompts said
#: and the enqueue, with no read: the process guesses a new conversation, the store checks
#: it), then the agents' ping, the queue prompt, the session, the standing filing (count,
#: filing, count) and the thread record. Earlier versions took the conversation's lock and
#: made 17 calls.
FIRST_MAIL = {
    "apply_turn": 1,
    "publish": 1,
    "append_message": 1,
    "put_session_if": 1,
    "count_window": 2,
    "put_doc": 1,
    "put_session": 1,
}


class Counting:
    """A store that counts the calls made to it (the outage watch's apart)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: collections.Counter[str] = collections.Counter()
        self.sessions_read: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            if not _outage_watch(name, args):
                self.calls[name] += 1
            if name == "get_session":
                self.sessions_read.append(str(args[0]))
            return await attr(*args, **kwargs)

        return call


def _outage_watch(name: str, args: tuple[Any, ...]) -> bool:
    if name == "count_window":  # the standing filing's counter is standing:claimed:<team>
        return not str(args[0][0]).startswith("standing:")
    return name == "minute_buckets"


@pytest.fixture
async def counted(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[MailDesk, Counting]]:
    store = Counting(await make_store(clock))
    async with mail_desk(store, clock, tmp_path, relay=False) as desk:
        yield desk, store


async def test_a_first_mail_makes_the_counted_store_calls(
    counted: tuple[MailDesk, Counting],
) -> None:
    desk, store = counted
    warm = make_mail(sender="first@example.net")  # the process's first look at the agents
    assert (await desk.send(warm, sender="first@example.net"))[0] == 250
    for n in range(3):
        store.calls.clear()
        sender = f"customer{n}@example.net"
        code, said = await desk.send(make_mail(sender=sender), sender=sender)
        assert code == 250, said
        assert dict(store.calls) == FIRST_MAIL
        assert not any(key.startswith("email-thread:") for key in store.sessions_read)
    contacts = await desk.contacts()
    assert len(contacts) == 4 and all(c.team == "technical" for c in contacts)
    assert all(len(c.messages) == 3 for c in [await desk.contact(c.id) for c in contacts])


async def test_a_first_mail_is_threaded_as_before_and_its_redelivery_reads_the_record(
    counted: tuple[MailDesk, Counting],
) -> None:
    desk, store = counted
    raw = make_mail(references=["<earlier@example.net>"])
    assert (await desk.send(raw))[0] == 250
    (contact,) = await desk.contacts()
    record = await desk.adapter.threads.get(contact.id)
    ours = message_id_of(raw)
    assert record == {
        "subject": "Internet nie działa",
        "our_address": SUPPORT,
        "last_message_id": ours,
        "references": ["<earlier@example.net>", ours],
    }
    store.sessions_read.clear()
    assert (await desk.send(raw))[0] == 250  # the sending server tried again
    assert f"email-thread:{contact.id}" in store.sessions_read  # not a first: read
    assert await desk.adapter.threads.get(contact.id) == record
    assert [c.id for c in await desk.contacts()] == [contact.id]


async def test_a_survey_answered_by_mail_adds_to_the_thread_record_of_its_contact(
    make_store: Any, clock: FakeClock, tmp_path: Path
) -> None:
    """The answer is no new contact: its contact's record is read and kept, not replaced."""
    async with mail_desk(await make_store(clock), clock, tmp_path) as desk:
        first = make_mail(body="Nie działa internet.\nLogin: jan.kowalski\nKod: 482913\n")
        assert (await desk.send(first))[0] == 250
        [contact] = await desk.contacts()
        assert (await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]}))[0] == 200
        resolve = {"disposition": "solved"}
        await desk.api("tomek", "POST", f"/api/contacts/{contact.id}/resolve", resolve)
        [_, question] = await desk.replies(2)
        answer = make_mail(subject="Re: ankieta", body="5\n", in_reply_to=question["Message-ID"])
        assert (await desk.send(answer))[0] == 250
        [done] = await desk.contacts()
        assert done.id == contact.id and done.meta["survey"]["score"] == 5
        record = await desk.adapter.threads.get(contact.id)
        assert record is not None and record["subject"] == "Internet nie działa"
        assert record["references"][0] == message_id_of(first)
        assert record["last_message_id"] == message_id_of(answer)
