"""Who is who: customer accounts (codes kept as HMACs, service types and monthly fees for
outage compensation), agents and their tokens, and the verification of login + auth code
with lockout."""

from router.errors import AccountError, AgentError, VerifyError
from router.identity.accounts import Account, AccountDirectory, load_demo, load_secret
from router.identity.agents import Agent, AgentDirectory
from router.identity.fees import (
    MonthlyFee,
    ServiceType,
    fee_table,
    parse_fees,
    parse_service_types,
    period_bounds,
    period_index,
    period_name,
    period_of,
)
from router.identity.verify import Verifier

__all__ = [
    "Account",
    "AccountDirectory",
    "AccountError",
    "Agent",
    "AgentDirectory",
    "AgentError",
    "MonthlyFee",
    "ServiceType",
    "Verifier",
    "VerifyError",
    "fee_table",
    "load_demo",
    "load_secret",
    "parse_fees",
    "parse_service_types",
    "period_bounds",
    "period_index",
    "period_name",
    "period_of",
]
