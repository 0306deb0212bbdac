"""Who is who: customer accounts (codes kept as HMACs), agents and their tokens, and the
verification of login + auth code with lockout."""

from router.errors import AccountError, AgentError, VerifyError
from router.identity.accounts import Account, AccountDirectory, load_demo, load_secret
from router.identity.agents import Agent, AgentDirectory
from router.identity.verify import Verifier

__all__ = [
    "Account",
    "AccountDirectory",
    "AccountError",
    "Agent",
    "AgentDirectory",
    "AgentError",
    "Verifier",
    "VerifyError",
    "load_demo",
    "load_secret",
]
