"""check_book finds each kind of problem in small broken books, none in the shipped one."""

from __future__ import annotations

import textwrap

import yaml

from ivr import FlowBook, Problem, check_book, has_errors, parse_book

BASE = """
languages: {default: pl, supported: [pl, en]}
teams: {billing: {}, technical: {}}
default_team: technical
keywords:
  billing: {pl: [faktur], en: [invoice]}
  technical: {pl: [internet], en: [internet]}
prompts:
  hello: {pl: "Dzień dobry", en: "Hello"}
  menu: {pl: "Wciśnij 1", en: "Press 1"}
  queued: {pl: "Miejsce {position}", en: "Number {position}"}
  invalid_choice: {pl: "Nie ma takiej opcji", en: "No such option"}
  invalid_input: {pl: "Błąd", en: "Invalid"}
  no_input: {pl: "Cisza", en: "Silence"}
"""


def lint(flows: str, *, base: str = BASE) -> list[Problem]:
    text = base + "flows:\n" + textwrap.indent(textwrap.dedent(flows), "  ")
    return check_book(parse_book(yaml.safe_load(text), check_refs=False))


def found(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.level, p.path) for p in problems}


GOOD = """
main:
  input: digits
  start: menu
  nodes:
    menu:
      type: menu
      prompt: menu
      choices: {"1": {set: {team: billing}, next: queue}}
      fallback: queue
    queue: {type: queue}
"""


def test_shipped_book_has_no_problems(book: FlowBook) -> None:
    assert check_book(book) == []


def test_small_good_book_has_no_problems() -> None:
    assert lint(GOOD) == []


def test_unreachable_node_is_a_warning() -> None:
    problems = lint(GOOD + "    lost: {type: queue}\n")
    assert found(problems) == {("warning", "flows.main.nodes.lost")}
    assert "unreachable" in problems[0].message
    assert not has_errors(problems)


def test_next_pointing_nowhere_is_an_error() -> None:
    problems = lint(GOOD.replace("next: queue}", "next: nowhere}"))
    assert ("error", "flows.main.nodes.menu.choices.1.next") in found(problems)
    assert "'nowhere' is not a node of flow 'main'" in str(problems[0])
    assert has_errors(problems)


def test_missing_start_is_an_error() -> None:
    problems = lint(GOOD.replace("start: menu", "start: begin"))
    assert ("error", "flows.main.start") in found(problems)


def test_dead_end_is_an_error() -> None:
    problems = lint(
        """
        main:
          input: digits
          start: a
          nodes:
            a: {type: menu, prompt: menu, choices: {"1": b}, fallback: b}
            b: {type: menu, prompt: menu, choices: {"1": a}, fallback: a}
        """
    )
    assert found(problems) == {("error", "flows.main.nodes.a"), ("error", "flows.main.nodes.b")}
    assert all("dead end" in p.message for p in problems)


def test_loop_that_never_waits_is_an_error() -> None:
    problems = lint(
        """
        main:
          input: digits
          start: a
          nodes:
            a: {type: branch, condition: verified, "yes": queue, "no": b}
            b: {type: announce, what: prompt, prompt: hello, next: a}
            queue: {type: queue}
        """
    )
    assert found(problems) == {("error", "flows.main.nodes.a")}
    assert "a -> b -> a" in problems[0].message


def test_prompt_missing_a_language_is_an_error() -> None:
    base = BASE.replace('  hello: {pl: "Dzień dobry", en: "Hello"}', '  hello: {pl: "Dzień dobry"}')
    problems = lint(GOOD, base=base)
    assert found(problems) == {("error", "prompts.hello")}
    assert "'en'" in problems[0].message


def test_prompt_used_but_not_defined_is_an_error() -> None:
    problems = lint(GOOD.replace("prompt: menu", "prompt: welcome"))
    assert found(problems) == {("error", "flows.main.nodes.menu")}
    assert "'welcome' is not defined" in problems[0].message


def test_prompt_said_on_an_edge_must_be_defined() -> None:
    problems = lint(GOOD.replace("fallback: queue", "fallback: {say: bye, next: queue}"))
    assert found(problems) == {("error", "flows.main.nodes.menu")}
    assert "'bye'" in problems[0].message


def test_clashing_digits_in_a_menu_are_an_error() -> None:
    problems = lint(
        """
        main:
          input: digits
          start: menu
          nodes:
            menu:
              type: menu
              prompt: menu
              choices:
                1: {set: {team: billing}, next: queue}
                "1": {set: {team: technical}, next: queue}
                "a": queue
              fallback: queue
            queue: {type: queue}
        """
    )
    assert found(problems) == {
        ("error", "flows.main.nodes.menu.choices.1"),
        ("error", "flows.main.nodes.menu.choices.a"),
    }
    assert {p.message for p in problems} == {
        "key '1' is used twice in this menu",
        "'a' cannot be pressed on a keypad",
    }


def test_clashing_words_in_a_text_menu_are_an_error() -> None:
    problems = lint(
        """
        main:
          input: text
          start: menu
          nodes:
            menu:
              type: menu
              prompt: menu
              choices:
                "1": {next: queue, words: [faktura]}
                "2": {next: queue, words: [Faktura, internet]}
              fallback: queue
            queue: {type: queue}
        """
    )
    assert found(problems) == {("error", "flows.main.nodes.menu.choices.2.words")}


def test_secret_collect_not_followed_by_verify_is_an_error() -> None:
    problems = lint(
        """
        main:
          input: digits
          start: code
          nodes:
            code: {type: collect, secret: true, prompt: menu, next: queue, fallback: queue}
            queue: {type: queue}
        """
    )
    assert found(problems) == {("error", "flows.main.nodes.code.next")}
    assert "must lead straight to a verify node" in problems[0].message


def test_verify_reached_without_a_code_is_an_error() -> None:
    problems = lint(
        """
        main:
          input: digits
          start: number
          nodes:
            number: {type: collect, var: number, prompt: menu, next: verify, fallback: queue}
            verify:
              type: verify
              identifier: number
              ok: queue
              fail: number
              exhausted: queue
              locked: queue
            queue: {type: queue}
        """
    )
    assert found(problems) == {("error", "flows.main.nodes.number.next")}


def test_queue_with_unknown_team_is_an_error() -> None:
    problems = lint(GOOD.replace("queue: {type: queue}", "queue: {type: queue, team: sales}"))
    assert found(problems) == {("error", "flows.main.nodes.queue.team")}
    assert "'sales' is not a team" in problems[0].message


def test_choice_setting_unknown_team_or_language_is_an_error() -> None:
    problems = lint(GOOD.replace("{team: billing}", "{team: sales, language: de}"))
    assert found(problems) == {
        ("error", "flows.main.nodes.menu.choices.1.set.team"),
        ("error", "flows.main.nodes.menu.choices.1.set.language"),
    }


def test_unknown_placeholder_is_a_warning() -> None:
    base = BASE.replace('"Miejsce {position}"', '"Miejsce {pozycja}"')
    problems = lint(GOOD, base=base)
    assert found(problems) == {
        ("warning", "prompts.queued.pl"),
        ("warning", "prompts.queued"),
        ("warning", "flows.main.nodes.queue.prompt"),
    }


def test_queue_prompt_with_more_than_position_and_wait_is_a_warning() -> None:
    base = BASE.replace('"Number {position}"', '"Number {position} for {team}"')
    problems = lint(GOOD, base=base)
    assert found(problems) == {
        ("warning", "prompts.queued"),
        ("warning", "flows.main.nodes.queue.prompt"),
    }
    assert "uses {team}" in problems[0].message


def test_menu_in_a_flow_without_input_is_a_warning() -> None:
    problems = lint(GOOD.replace("input: digits", "input: none"))
    assert found(problems) == {("warning", "flows.main.nodes.menu")}


def test_problem_reads_as_a_sentence() -> None:
    problem = Problem("error", "flows.main.start", "'x' is not a node of flow 'main'")
    assert str(problem) == "error: flows.main.start: 'x' is not a node of flow 'main'"
