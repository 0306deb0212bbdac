"""Telegram in: Bot API updates through the real app -> flow -> prompts via sendMessage."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path

import pytest

import tests.redis_server as redis_server_module
from channels.telegram.parse import language_hint
from queues import ContactState, Direction, Store, open_store
from tests.channels.telegram.support import CHAT, SECRET, telegram_desk, update
from tests.conftest import FakeClock

STORE_BACKENDS = ["memory", "sqlite", "redis"]

WELCOME_EN = (
    "Hello! Thank you for your message, we have saved it.\n\n"
    "To confirm your identity, please send your login and the authorisation code from your "
    "customer panel, e.g.: jan.kowalski 123456"
)


async def inbound(store: Store) -> list[str]:
    texts = []
    for contact in await store.list_contacts(channel="telegram"):
        full = await store.get_contact(contact.id)
        texts += [m.text for m in full.messages if m.direction is Direction.IN]
    return texts


async def test_round_trip_start_flow_queue_agent_reply(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        assert await desk.say("/start", language="en") == 200
        (welcome,) = await desk.telegram.wait_sent(1)
        assert (welcome.chat_id, welcome.text) == (CHAT, WELCOME_EN)

        assert await desk.say("jan.kowalski 482913", language="en") == 200
        sent = await desk.telegram.wait_sent(2)
        assert sent[1].text.startswith("Thank you, your identity has been confirmed.\n\n")
        assert "Reply with a number: 1 – billing" in sent[1].text

        assert await desk.say("2", language="en") == 200
        sent = await desk.telegram.wait_sent(3)
        assert sent[2].text.startswith("Your request is waiting in the queue (number 1, about")

        # /start while queued: still queued, and told where they stand.
        assert await desk.say("/start", language="en") == 200
        sent = await desk.telegram.wait_sent(4)
        assert sent[3].text.startswith("Your request is still waiting in the queue: number 1")

        (contact,) = await store.list_contacts(channel="telegram")
        assert contact.state is ContactState.WAITING and contact.team == "technical"
        assert contact.address == str(CHAT) and contact.language == "en" and contact.verified
        assert contact.meta["username"] == "jkowalski" and contact.meta["chat_id"] == CHAT

        status, claimed = await desk.api("tomek", "POST", "/api/claim", {"teams": ["technical"]})
        assert status == 200 and claimed["id"] == contact.id
        assert [m["text"] for m in claimed["messages"] if m["direction"] == "in"] == [
            "/start",
            "jan.kowalski ••••••",
            "2",
            "/start",
        ]
        status, reply = await desk.api(
            "tomek", "POST", f"/api/contacts/{contact.id}/reply", {"text": "Hi Jan, checking now."}
        )
        assert status == 200
        last = desk.telegram.sent[-1]
        assert (last.chat_id, last.text) == (CHAT, "Hi Jan, checking now.")
        assert reply["meta"]["provider_id"] == f"{CHAT}:{last.message_id}"
        assert len(desk.telegram.sent) == 5


async def test_secret_token_is_required(tmp_path: Path, clock: FakeClock, store: Store) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        for secret in (None, "", "wrong", SECRET[:-1], SECRET + "x"):
            response = await desk.post(update("hello"), secret=secret)
            assert response.status == 403, secret
            assert "X-Telegram-Bot-Api-Secret-Token" in (await response.json())["error"]
        assert await store.list_contacts() == []
        assert desk.telegram.sent == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "no integer update_id"),
        (b'{"update_id": "7"}', "no integer update_id"),
        (b'{"update_id": 7, "message": {"message_id": 1, "chat": {"id": 1}}}', "'date'"),
        (b'{"update_id": 7, "message": "text"}', "malformed"),
        (b"\xff\xfe", "not JSON"),
    ],
)
async def test_malformed_updates_get_400_with_a_reason(
    tmp_path: Path, clock: FakeClock, store: Store, body: bytes, reason: str
) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        response = await desk.client.post(
            "/telegram/webhook",
            data=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
        )
        assert response.status == 400
        assert reason in (await response.json())["error"]
        assert await store.list_contacts() == []


async def test_oversize_update_gets_413(tmp_path: Path, clock: FakeClock, store: Store) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        body = io.BytesIO(json.dumps(update("x" * (1024 * 1024 + 1))).encode())
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        response = await desk.client.post("/telegram/webhook", data=body, headers=headers)
        assert response.status == 413
        assert await store.list_contacts() == []


async def test_concurrent_duplicates_make_one_message_and_one_prompt(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        body = update("Dzień dobry, mam problem z fakturą")
        responses = await asyncio.gather(*(desk.post(body) for _ in range(6)))
        assert [r.status for r in responses] == [200] * 6
        assert await inbound(store) == ["Dzień dobry, mam problem z fakturą"]
        await desk.delivered()
        assert len(desk.telegram.sent) == 1
        assert desk.telegram.sent[0].text.startswith("Dzień dobry! Dziękujemy za wiadomość")


async def test_non_text_messages_are_taken_with_placeholders_and_file_ids(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    photo = [
        {"file_id": "AgACAgIAAxk-small", "file_unique_id": "AQADs", "width": 90, "height": 67},
        {"file_id": "AgACAgIAAxk-big", "file_unique_id": "AQADb", "width": 1280, "height": 960},
    ]
    sticker = {
        "file_id": "CAACAgIAAxkBAAM",
        "file_unique_id": "AgADsT",
        "width": 512,
        "height": 512,
        "emoji": "👍",
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    document = {
        "file_id": "BQACAgIAAxkBAAM",
        "file_unique_id": "AgADyz",
        "file_name": "faktura-05.pdf",
        "mime_type": "application/pdf",
        "file_size": 54321,
    }
    async with telegram_desk(tmp_path, clock, store) as desk:
        assert await desk.say(photo=photo, chat_id=1) == 200
        assert await desk.say(photo=photo, caption="Mój router", chat_id=2) == 200
        assert await desk.say(sticker=sticker, chat_id=3) == 200
        assert await desk.say(document=document, chat_id=4) == 200
        contacts = {c.address: c for c in await store.list_contacts(channel="telegram")}
        texts = {a: (await store.get_contact(c.id)).messages[0].text for a, c in contacts.items()}
        assert texts == {
            "1": "[photo]",
            "2": "Mój router",
            "3": "[sticker 👍]",
            "4": "[document faktura-05.pdf]",
        }
        assert contacts["1"].meta["attachment"]["file_id"] == "AgACAgIAAxk-big"
        assert contacts["3"].meta["attachment"]["file_unique_id"] == "AgADsT"
        assert contacts["4"].meta["attachment"]["mime_type"] == "application/pdf"
        await desk.delivered()
        assert sorted(s.chat_id for s in desk.telegram.sent) == [1, 2, 3, 4]


async def test_group_chats_and_other_updates_are_acknowledged_and_ignored(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        assert await desk.say("hi all", chat_id=-1001234, chat_type="supergroup") == 200
        edited = update("poprawka")
        edited["edited_message"] = edited.pop("message")
        assert (await desk.post(edited)).status == 200
        assert await store.list_contacts() == []


async def test_language_comes_from_the_users_app(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    assert language_hint("ru", ("pl", "en", "ru", "he")) == "ru"
    assert language_hint("en-GB", ("pl", "en")) == "en"
    assert language_hint("iw", ("pl", "he")) == "he"
    assert language_hint("de", ("pl", "en")) is None
    assert language_hint(None, ("pl",)) is None
    async with telegram_desk(tmp_path, clock, store) as desk:
        await desk.say("/start", language="ru", chat_id=10)
        await desk.say("/start", language="he", chat_id=11)
        await desk.say("/start", language="de", chat_id=12)
        await desk.delivered()
        first = {s.chat_id: s.text.split("\n")[0] for s in desk.telegram.sent}
        assert first == {
            10: "Здравствуйте! Спасибо за сообщение, мы его сохранили.",
            11: "שלום! תודה על ההודעה, שמרנו אותה.",
            12: "Dzień dobry! Dziękujemy za wiadomość, zapisaliśmy ją.",
        }


async def test_start_then_the_problem_then_login_and_code_gets_in(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        for text in ("/start", "internet nie działa", "jan.kowalski 482913"):
            assert await desk.say(text, language="pl") == 200
        (contact,) = await store.list_contacts(channel="telegram")
        assert contact.verified and contact.account == "jan.kowalski"
        assert "482913" not in " ".join(await inbound(store))


async def test_help_is_a_command_not_a_login(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        assert await desk.say("/start", language="en") == 200
        assert await desk.say("/help", language="en") == 200
        await desk.delivered()
        # Asked for the login, /help is not taken as one: the welcome says again what to send.
        assert [s.text for s in desk.telegram.sent] == [WELCOME_EN, WELCOME_EN]


async def test_start_in_the_middle_of_the_flow_begins_again(
    tmp_path: Path, clock: FakeClock, store: Store
) -> None:
    async with telegram_desk(tmp_path, clock, store) as desk:
        start = update("/start", language="en")
        assert (await desk.post(start)).status == 200
        assert (await desk.post(start)).status == 200  # redelivered: not a new /start
        (contact,) = await store.list_contacts(channel="telegram")
        assert contact.state is ContactState.IN_FLOW
        assert await desk.say("/start", language="en") == 200
        states = {c.id: c.state for c in await store.list_contacts(channel="telegram")}
        assert states.pop(contact.id) is ContactState.ABANDONED
        assert list(states.values()) == [ContactState.IN_FLOW]
        await desk.delivered()
        assert [s.text for s in desk.telegram.sent] == [WELCOME_EN, WELCOME_EN]


async def test_redis_going_away_gives_503_and_the_update_is_stored_once_when_back(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "redis"
    async with contextlib.AsyncExitStack() as stack:
        server = contextlib.ExitStack()
        url = server.enter_context(redis_server_module.redis_server(workdir))
        stack.callback(server.close)
        store = await open_store(url, clock=clock)
        stack.push_async_callback(store.aclose)
        desk = await stack.enter_async_context(telegram_desk(tmp_path, clock, store))

        assert await desk.say("Nie działa internet", chat_id=77) == 200
        server.close()  # redis-server stops
        later = update("jan.kowalski 482913", chat_id=77)
        for _ in range(2):
            response = await desk.post(later)
            assert response.status == 503 and response.headers["Retry-After"] == "5"

        # The same port and data dir: the appendonly file brings the data back.
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        monkeypatch.setattr(redis_server_module, "free_port", lambda: port)
        server = contextlib.ExitStack()
        server.enter_context(redis_server_module.redis_server(workdir))
        stack.callback(server.close)
        statuses = [(await desk.post(later)).status for _ in range(3)]
        assert 200 in statuses and set(statuses) <= {200, 503}
        assert await inbound(store) == ["Nie działa internet", "jan.kowalski ••••••"]
        await desk.delivered()
        assert "Dziękujemy, Twoja tożsamość została potwierdzona." in desk.telegram.sent[-1].text
