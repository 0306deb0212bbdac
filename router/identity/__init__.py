"""Who is who: customer accounts (codes kept as HMACs), agents and their tokens, and the
verification of login + auth code with lockout."""

from router.identity.accounts import Account, AccountDirectory, AccountError, load_demo, load_secret
from router.identity.agents import Agent, AgentDirectory, AgentError
from router.identity.verify import Verifier

__all__ = [
    "Account",
    "AccountDirectory",
    "AccountError",
    "Agent",
    "AgentDirectory",
    "AgentError",
    "Verifier",
    "load_demo",
    "load_secret",
]
