"""config.yaml loading: the shipped file, env references, paths, and one line per problem."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr, ValidationError

from router.config.load import (
    IVR_KEYS,
    Config,
    ConfigError,
    HostPort,
    TimeRange,
    load_config,
    parse_config,
    redact_url,
)

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "config.yaml"
SECRETS = {
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "twilio-auth-s3cr3t",
    "TELEGRAM_BOT_TOKEN": "123456:telegram-bot-s3cr3t",
    "TELEGRAM_SECRET_TOKEN": "telegram_webhook_s3cr3t",
    "SMTP_USERNAME": "relay-user",
    "SMTP_PASSWORD": "smtp-relay-s3cr3t",
}


def unshared(node: Any) -> Any:
    """A copy in which no two places share a dict or list (YAML anchors do)."""
    if isinstance(node, dict):
        return {key: unshared(value) for key, value in node.items()}
    if isinstance(node, list):
        return [unshared(item) for item in node]
    return node


def shipped() -> dict[str, Any]:
    """The shipped config as parsed data, ready to break in one place."""
    data: dict[str, Any] = unshared(yaml.safe_load(SHIPPED.read_text("utf-8")))
    return data


def problems(data: dict[str, Any], env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, base_dir=ROOT, env=env or {})
    assert str(caught.value) == "\n".join(f"{p}: {m}" for p, m in caught.value.problems)
    return caught.value.problems


def only_problem(data: dict[str, Any], env: dict[str, str] | None = None) -> str:
    found = problems(data, env)
    assert len(found) == 1, found
    return f"{found[0][0]}: {found[0][1]}"


# -- the shipped file ----------------------------------------------------------------------


def test_shipped_config_loads_end_to_end() -> None:
    config = load_config(SHIPPED, env={})

    assert config.team_names == ("billing", "technical", "domains_hosting")
    assert config.default_team == "technical"
    assert config.config_dir == ROOT
    assert config.store_url == f"sqlite:///{ROOT}/var/switchboard.db"
    assert config.data_path == ROOT / "var"
    assert config.accounts.file == ROOT / "var" / "accounts.json"
    assert config.agents.file == ROOT / "var" / "agents.json"
    assert config.http.listen == HostPort("127.0.0.1", 8080)
    assert config.timezone.key == "Europe/Warsaw"
    assert (config.languages.default, config.languages.rtl) == ("pl", ("he",))
    hours = config.teams["billing"].hours
    assert hours.mon == (TimeRange(600, 1080),)
    assert hours.sat == hours.sun == ()
    assert hours.as_spec()["fri"] == ["10:00-18:00"]
    assert config.teams["technical"].holidays.country == "PL"
    assert config.priority.channel.voice == 120
    assert config.priority.tier == {"residential": 0, "business": 300}
    assert config.sla.answer["voice"].threshold_s == 20
    assert config.sla.first_response_business_days["email"] == 1
    assert config.queues.lease_s == 60
    assert config.verification.max_failures == 5
    assert [a.login for a in config.accounts.demo] == [
        "jan.kowalski",
        "firma.nowak",
        "anna.dluzna",
    ]
    assert config.accounts.demo[2].balance == Decimal("-120.00")
    assert config.agents.demo[1].teams == ("technical",)
    assert config.channels.email.listen == HostPort("127.0.0.1", 8025)
    assert "support@example.com" in config.channels.email.addresses
    assert not config.channels.twilio.enabled  # no credentials in the environment
    assert not config.channels.telegram.enabled
    assert config.channels.email.relay.password is None


def test_shipped_config_builds_the_flow_book() -> None:
    from ivr.flow import FlowBook

    config = load_config(SHIPPED, env={})

    assert isinstance(config.book, FlowBook)
    assert config.book.teams == config.team_names
    assert config.book.default_team == config.default_team


def test_credentials_come_from_the_environment() -> None:
    config = load_config(SHIPPED, env=SECRETS)

    twilio, telegram = config.channels.twilio, config.channels.telegram
    assert twilio.enabled and telegram.enabled
    assert twilio.account_sid == SECRETS["TWILIO_ACCOUNT_SID"]
    assert isinstance(twilio.auth_token, SecretStr)
    assert twilio.auth_token.get_secret_value() == SECRETS["TWILIO_AUTH_TOKEN"]
    assert telegram.secret_token is not None
    assert telegram.secret_token.get_secret_value() == SECRETS["TELEGRAM_SECRET_TOKEN"]
    relay = config.channels.email.relay
    assert relay.username == "relay-user"
    assert relay.password is not None
    assert relay.password.get_secret_value() == SECRETS["SMTP_PASSWORD"]


def test_config_is_frozen() -> None:
    config = load_config(SHIPPED, env={})

    with pytest.raises(ValidationError):
        config.default_team = "billing"


# -- the exact messages the contract names -------------------------------------------------


@pytest.mark.parametrize("value", ["27:61", "27:61-18:00", "10:00-27:61"])
def test_an_impossible_time_names_the_path_and_the_time(value: str) -> None:
    data = shipped()
    data["teams"]["billing"]["hours"]["mon"] = value

    assert only_problem(data) == "teams.billing.hours.mon: '27:61' is not a time"


def test_a_service_level_threshold_must_be_an_edge_of_the_wait_bins() -> None:
    data = shipped()
    data["sla"]["answer"]["voice"]["threshold_s"] = 25
    problem = only_problem(data)
    assert problem.startswith("sla.answer.voice.threshold_s: 25 s is not an edge of the wait bins")
    assert "20, 30" in problem


def test_a_bad_time_zone_is_named() -> None:
    data = shipped()
    data["timezone"] = "Europe/Warsw"

    assert only_problem(data) == "timezone: 'Europe/Warsw' is not a time zone"


def test_an_agent_serving_an_unknown_team_is_named_with_its_index() -> None:
    data = shipped()
    data["agents"]["demo"][1]["teams"] = ["sales"]

    assert only_problem(data) == (
        "agents.demo.1.teams.0: 'sales' is not a team (billing, technical, domains_hosting)"
    )


def test_several_problems_are_listed_together_one_per_line() -> None:
    data = shipped()
    data["timezone"] = "Europe/Warsw"
    data["teams"]["billing"]["hours"]["mon"] = "27:61-18:00"
    data["teams"]["technical"]["hourz"] = {}
    data["queues"]["lease_s"] = 0
    data["agents"]["demo"][2]["teams"] = ["billing", "sales"]
    data["channels"]["email"]["listen"] = "127.0.0.1:70000"

    assert problems(data) == [
        ("timezone", "'Europe/Warsw' is not a time zone"),
        ("teams.billing.hours.mon", "'27:61' is not a time"),
        ("teams.technical.hourz", "unknown key; did you mean 'hours'?"),
        ("queues.lease_s", "0 should be greater than 0"),
        ("agents.demo.2.teams.1", "'sales' is not a team (billing, technical, domains_hosting)"),
        ("channels.email.listen", "'127.0.0.1:70000' has port 70000, outside 1..65535"),
    ]


# -- hours -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("18:00-10:00", "'18:00-10:00' does not start before it ends; split a range past "
         "midnight in two days"),
        ("10:00", "'10:00' is not a time range; write HH:MM-HH:MM"),
        ("24:00-24:30", "'24:30' is not a time"),
        (600, "600 is not a time range; write \"HH:MM-HH:MM\" in quotes"),
        (["10:00-12:00", "11:00-13:00"], "'10:00-12:00' overlaps '11:00-13:00'"),
    ],
)  # fmt: skip
def test_bad_hours_are_explained(value: object, message: str) -> None:
    data = shipped()
    data["teams"]["billing"]["hours"]["tue"] = value

    assert only_problem(data) == f"teams.billing.hours.tue: {message}"


def test_hours_take_ranges_lists_and_null() -> None:
    data = shipped()
    data["teams"]["billing"]["hours"].update(
        {"mon": ["14:00-18:00", "08:00-12:00"], "tue": "00:00-24:00", "wed": None}
    )

    hours = parse_config(data, base_dir=ROOT, env={}).teams["billing"].hours

    assert hours.mon == (TimeRange(480, 720), TimeRange(840, 1080))
    assert hours.for_weekday(1) == (TimeRange(0, 1440),)
    assert str(hours.tue[0]) == "00:00-24:00"
    assert hours.wed == ()
    assert 1439 in hours.tue[0] and 1440 not in hours.tue[0]


def test_holidays_are_checked() -> None:
    data = shipped()
    data["teams"]["billing"]["holidays"] = {
        "country": "XX",
        "extra": ["12-24", "02-30", "2025-12-31"],
        "closed_dates": ["2025-13-01"],
    }
    data["teams"]["technical"]["holidays"] = {"extra": ["12-24", "2025-12-31"]}

    assert problems(data) == [
        ("teams.billing.holidays.country", "'XX' is not a country the holidays package knows "
         "(ISO 3166)"),
        ("teams.billing.holidays.extra.1", "'02-30' is not a day of the year (MM-DD)"),
        ("teams.billing.holidays.closed_dates.0", "'2025-13-01' is not a date (YYYY-MM-DD)"),
    ]  # fmt: skip
    del data["teams"]["billing"]["holidays"]
    holidays = parse_config(data, base_dir=ROOT, env={}).teams["technical"].holidays
    assert holidays.extra == ("12-24", date(2025, 12, 31))
    assert holidays.country is None


# -- environment -----------------------------------------------------------------------------


def test_an_unset_variable_is_named_with_its_key() -> None:
    data = shipped()
    data["channels"]["twilio"]["account_sid"] = "${SB_TEST_SID}"

    assert only_problem(data) == (
        "channels.twilio.account_sid: environment variable SB_TEST_SID is not set; "
        "set it or write ${SB_TEST_SID:-}"
    )


def test_variables_and_defaults_are_replaced_in_every_string() -> None:
    data = shipped()
    data["http"]["public_url"] = "https://${SB_HOST}/"
    data["channels"]["email"]["addresses"] = ["${SB_MAILBOX:-help}@example.com"]
    data["channels"]["email"]["relay"]["host"] = "${SB_RELAY:-smtp.example.com}"
    data["channels"]["email"]["relay"]["port"] = "${SB_RELAY_PORT:-587}"

    config = parse_config(data, base_dir=ROOT, env={"SB_HOST": "support.example.com"})

    assert config.http.public_url == "https://support.example.com"
    assert config.channels.email.addresses == ("help@example.com",)
    assert config.channels.email.relay.host == "smtp.example.com"
    assert config.channels.email.relay.port == 587
    empty = parse_config(data, base_dir=ROOT, env={"SB_HOST": "h.example", "SB_RELAY": ""})
    assert empty.channels.email.relay.host == "smtp.example.com"  # :- covers set-but-empty


def test_a_malformed_reference_is_reported() -> None:
    data = shipped()
    data["channels"]["twilio"]["account_sid"] = "${TWILIO_ACCOUNT_SID"

    assert only_problem(data) == (
        "channels.twilio.account_sid: has a ${ that is not ${VAR} or ${VAR:-default}"
    )


def test_secrets_never_reach_a_message_or_a_repr() -> None:
    config = load_config(SHIPPED, env=SECRETS)
    shown = [repr(config), str(config), repr(config.channels), str(config.channels.twilio)]
    for secret in ("TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN"):
        assert all(SECRETS[secret] not in text for text in shown)
    assert all(SECRETS["SMTP_PASSWORD"] not in text for text in shown)
    assert all("482913" not in text for text in shown)  # demo auth codes are kept out too

    data = shipped()
    data["channels"]["twilio"]["auth_tokn"] = "${TWILIO_AUTH_TOKEN}"  # a typo'd key
    data["channels"]["twilio"]["auth_token"] = {"nested": "twilio-auth-s3cr3t"}  # a bad type
    data["channels"]["webchat"]["max_message_chars"] = "${TWILIO_AUTH_TOKEN}"  # a wrong place
    data["channels"]["telegram"]["secret_token"] = "has spaces-telegram_webhook_s3cr3t"
    data["accounts"]["demo"][0]["code"] = "48291x"
    with pytest.raises(ConfigError) as caught:
        parse_config(data, base_dir=ROOT, env=SECRETS)
    message = str(caught.value)

    assert "s3cr3t" not in message and "48291x" not in message
    # Nothing chained: a printed traceback must not show pydantic's error with the inputs.
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert caught.value.problems == [
        ("accounts.demo.0.code", "the auth code must be 4 to 8 digits"),
        ("channels.twilio.auth_token", "the value should be a valid string"),
        ("channels.twilio.auth_tokn", "unknown key; did you mean 'auth_token'?"),
        ("channels.telegram.secret_token",
         "may hold only A-Z, a-z, 0-9, _ and - (1 to 256 characters)"),
        ("channels.webchat.max_message_chars",
         "'${TWILIO_AUTH_TOKEN}' (from the environment) should be a valid integer, unable to "
         "parse string as an integer"),
    ]  # fmt: skip


def test_a_store_password_is_redacted_in_repr_and_messages() -> None:
    data = shipped()
    data["store"] = "redis://:hunter2@localhost:6379/0"
    config = parse_config(data, base_dir=ROOT, env={})

    assert config.store_url == "redis://:hunter2@localhost:6379/0"
    assert "hunter2" not in repr(config)
    assert "redis://:***@localhost:6379/0" in repr(config)
    data["store"] = "postgres://admin:hunter2@db/switchboard"
    assert "hunter2" not in only_problem(data)


# -- paths and the store ---------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "etc" / "switchboard"
    conf.mkdir(parents=True)
    data = shipped()
    data["agents"]["file"] = "/srv/agents.json"
    (conf / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    monkeypatch.chdir(tmp_path)

    config = load_config("etc/switchboard/config.yaml", env={})

    assert config.config_dir == conf
    assert config.store_url == f"sqlite:///{conf}/var/switchboard.db"
    assert config.store_url.startswith("sqlite:////")
    assert config.data_path == conf / "var"
    assert config.accounts.file == conf / "var" / "accounts.json"
    assert config.agents.file == Path("/srv/agents.json")


@pytest.mark.parametrize(
    "url", ["memory://", "redis://localhost:6379/0", "rediss://cache:6380/1", "unix:///run/r.sock"]
)
def test_other_store_urls_are_untouched(url: str) -> None:
    data = shipped()
    data["store"] = url

    assert parse_config(data, base_dir=ROOT, env={}).store_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://db/switchboard", "'postgres://db/switchboard' is not a store URL; use "
         "memory://, sqlite:///path.db or redis://host:port/db"),
        ("var/switchboard.db", "'var/switchboard.db' is not a store URL; use memory://, "
         "sqlite:///path.db or redis://host:port/db"),
        ("sqlite://switchboard.db", "'sqlite://switchboard.db' is not a sqlite file URL; use "
         "sqlite:///relative/path.db or sqlite:////absolute/path.db"),
    ],
)  # fmt: skip
def test_a_bad_store_url_is_refused(url: str, message: str) -> None:
    data = shipped()
    data["store"] = url

    assert only_problem(data) == f"store: {message}"


def test_with_store_returns_a_copy_with_another_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(SHIPPED, env={})
    monkeypatch.chdir(tmp_path)

    assert config.with_store("memory://").store_url == "memory://"
    # On the command line a relative path is relative to the working directory.
    assert config.with_store("sqlite:///x.db").store_url == f"sqlite:///{tmp_path}/x.db"
    assert config.with_store("memory://").book is config.book
    assert config.store_url == f"sqlite:///{ROOT}/var/switchboard.db"
    with pytest.raises(ConfigError) as caught:
        config.with_store("mysql://db")
    assert caught.value.problems[0][0] == "store"


# -- other sections --------------------------------------------------------------------------


def test_an_unknown_key_is_named_with_its_path() -> None:
    data = shipped()
    data["verification"]["max_failure"] = data["verification"].pop("max_failures")
    data["queue"] = data.pop("queues")

    assert problems(data) == [
        ("queues", "is missing; add it"),
        ("verification.max_failures", "is missing; add it"),
        ("verification.max_failure", "unknown key; did you mean 'max_failures'?"),
        ("queue", "unknown key; did you mean 'queues'?"),
    ]


def test_cross_references_name_what_exists() -> None:
    data = shipped()
    data["default_team"] = "support"
    data["accounts"]["demo"][0]["tier"] = "gold"
    data["languages"]["rtl"] = ["ar"]
    del data["teams"]["billing"]["names"]["ru"]

    assert problems(data) == [
        ("languages.rtl", "'ar' is not a supported language (pl, en, ru, he)"),
        ("teams.billing.names", "has no name for ru"),
        ("default_team", "'support' is not a team (billing, technical, domains_hosting)"),
        ("accounts.demo.0.tier", "'gold' is not a tier (residential, business)"),
    ]


def test_an_empty_section_is_reported_once_not_at_every_reference() -> None:
    data = shipped()
    data["teams"] = {}
    data["languages"]["supported"] = []

    assert problems(data) == [
        ("languages.supported", "is empty; name at least one"),
        ("teams", "is empty; name at least one"),
    ]


def test_priority_sla_and_dispositions_are_checked() -> None:
    data = shipped()
    del data["priority"]["channel"]["sms"]
    data["priority"]["channel"]["fax"] = 10
    data["priority"]["incident"] = -1
    data["sla"]["answer"]["voice"]["target"] = 1.5
    data["sla"]["answer"]["pigeon"] = {"threshold_s": 20, "target": 0.8}
    data["dispositions"] = ["solved", "spam", "solved"]

    assert problems(data) == [
        ("priority.channel.sms", "is missing; add it"),
        ("priority.channel.fax", "unknown key; use one of voice, chat, telegram, sms, email, form"),
        ("priority.incident", "-1 should be greater than or equal to 0"),
        ("sla.answer.voice.target", "1.5 should be less than or equal to 1"),
        (
            "sla.answer.pigeon",
            "'pigeon' is not a channel (voice, sms, email, chat, telegram, form)",
        ),
        ("dispositions", "'solved' is listed twice"),
    ]


def test_demo_accounts_keep_digits_as_text() -> None:
    data = shipped()
    data["accounts"]["demo"][0]["number"] = 1001
    data["accounts"]["demo"][1]["code"] = 739155
    data["accounts"]["demo"][2]["balance"] = -120.5
    data["accounts"]["demo"][2]["login"] = "jan.kowalski"

    assert problems(data) == [
        ("accounts.demo.0.number", "1001 must be written in quotes so leading zeros are kept"),
        ("accounts.demo.1.code", "the auth code must be written in quotes so leading zeros "
         "are kept"),
        ("accounts.demo.2.balance", "-120.5 must be written in quotes (\"-120.50\") to stay "
         "exact"),
    ]  # fmt: skip
    data = shipped()
    data["accounts"]["demo"][2]["login"] = "jan.kowalski"
    assert only_problem(data) == "accounts.demo: login 'jan.kowalski' is listed twice"


def test_channel_settings_are_checked() -> None:
    data = shipped()
    data["channels"]["twilio"]["hold_refresh_s"] = 90
    data["channels"]["twilio"]["api_base_url"] = "localhost:9000"
    data["channels"]["email"]["from_address"] = "support at example.com"
    data["http"]["listen"] = "8080"

    assert problems(data) == [
        ("http.listen", "'8080' is not HOST:PORT (e.g. 127.0.0.1:8080)"),
        ("channels.twilio.api_base_url", "'localhost:9000' is not an http(s) URL"),
        ("channels.twilio.hold_refresh_s", "90 should be less than or equal to 60"),
        ("channels.email.from_address", "'support at example.com' is not an email address"),
    ]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:8080", HostPort("127.0.0.1", 8080)),
        ("localhost:1", HostPort("localhost", 1)),
        ("[::1]:65535", HostPort("::1", 65535)),
    ],
)
def test_host_port_parses_and_prints(text: str, parsed: HostPort) -> None:
    assert HostPort.parse(text) == parsed
    assert str(parsed) == text


@pytest.mark.parametrize("text", ["8080", "host:", ":8080", "host:0", "host:http", "::1:80"])
def test_host_port_refuses_what_is_not_host_and_port(text: str) -> None:
    with pytest.raises(ValueError, match=r"HOST:PORT|outside 1\.\.65535"):
        HostPort.parse(text)


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("redis://user:pw@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"


def test_a_flow_problem_becomes_a_line_at_its_path() -> None:
    data = shipped()
    data["flows"] = ["not", "a", "mapping"]

    found = problems(data)

    assert [path for path, _ in found] == ["flows"]


def test_book_is_only_on_a_config_built_by_the_loader() -> None:
    config = load_config(SHIPPED, env={})
    data = {key: value for key, value in shipped().items() if key not in IVR_KEYS}
    data["channels"] = {}
    bare = Config.model_validate(data, context={"base_dir": ROOT})

    assert bare.team_names == config.team_names
    with pytest.raises(RuntimeError, match="load_config"):
        _ = bare.book


# -- reading the file ------------------------------------------------------------------------


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})

    assert str(caught.value) == f"{path}: cannot read it: No such file or directory"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("store: memory://\nteams: [billing\n", "invalid YAML at line 3, column 1: expected ',' "
         "or ']', but got '<stream end>' (while parsing a flow sequence)"),
        ("store: memory://\nstore: sqlite:///x.db\n", "invalid YAML at line 2, column 1: found "
         "the key 'store' twice (while constructing a mapping)"),
        ("", "is empty; it should be a mapping of settings"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_yaml_mapping_is_refused(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, "utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})

    assert caught.value.problems == [(str(path), problem)]


def test_a_top_level_list_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^\(top level\): \[1, 2\] should be a mapping"):
        parse_config([1, 2], base_dir=ROOT)  # type: ignore[arg-type]
