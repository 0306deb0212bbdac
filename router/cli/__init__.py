"""The ``switchboard`` command: run, call, agent, accounts, agents, ivr."""

from router.cli.parser import main

__all__ = ["main"]
