"""The chat page when the flood cap refuses its socket (close code 1013): the customer is
told clearly that too many chats are open from their network, and the page connects by
itself once a chat closes (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

from router.config.load import parse_config
from tests.router.conftest import ENV, ROOT
from tests.web.conftest import LiveApp, Pages

BUSY = {
    "en": "Too many chats are open from your network — we will try again shortly.",
    "pl": "Z Twojej sieci otwarto zbyt wiele czatów — spróbujemy ponownie za chwilę.",
}


@pytest.fixture
def capped_app(tmp_path: Path) -> Iterator[LiveApp]:
    """The live app with one chat open at once from an address (every test page is one)."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["channels"]["webchat"]["max_open_per_ip"] = 1
    app = LiveApp(tmp_path)
    app._config = parse_config(data, base_dir=tmp_path, env=ENV)
    app.start()
    yield app
    app.stop()


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_a_refused_chat_says_it_is_busy_and_connects_when_one_closes(
    capped_app: LiveApp, pages: Pages, lang: str
) -> None:
    first = pages.new()
    first.goto(f"{capped_app.url}/chat?lang={lang}")
    expect(first.locator("#conn")).to_have_attribute("data-state", "online")

    second = pages.new()
    second.goto(f"{capped_app.url}/chat?lang={lang}")
    status = second.locator("#conn")
    expect(status).to_have_attribute("data-state", "busy")
    expect(status).to_be_visible()
    expect(status).to_have_text(BUSY[lang])
    expect(status).to_have_attribute("role", "status")  # read out by screen readers

    first.close()  # its socket closes: the cap has room again
    expect(status).to_have_attribute("data-state", "online", timeout=20_000)
    assert pages.errors == []
