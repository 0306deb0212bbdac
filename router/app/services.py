"""The router's services, each built from the config (``router.app.factory`` wires them):
the KPI board, the agent desk, the verifier, the contact service, and what hangs on the
contact service's hooks (surveys, the address join, standings)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from channels import AgentTarget, Courier, Outbox
from ivr import Engine
from queues import Channel, Store
from router.config import Config
from router.contacts import (
    AddressJoin,
    ChangeRule,
    ContactService,
    Standings,
    StatusWords,
    Surveys,
)
from router.desk import AgentDesk, Presence
from router.identity import AccountDirectory, AgentDirectory, Verifier
from router.routing import Routing
from router.staffing import service_goal
from router.stats import KpiBoard, Metrics

__all__ = [
    "KPI_WINDOW_S",
    "after_care",
    "agent_desk",
    "contact_service",
    "courier",
    "kpi_board",
]

KPI_WINDOW_S = 3600.0


def kpi_board(
    config: Config,
    store: Store,
    presence: Presence,
    routing: Routing,
    clock: Callable[[], float],
) -> KpiBoard:
    """The last hour's KPIs for ``/api/stats``, the last of them kept for ``/metrics``."""
    return KpiBoard(
        store,
        presence,
        teams=routing.teams,
        thresholds_s=config.sla.thresholds_s,
        clock=clock,
        window_s=KPI_WINDOW_S,
        goal=service_goal(config.sla.answer),
    )


def courier(
    config: Config,
    store: Store,
    outboxes: Mapping[Channel, Outbox],
    clock: Callable[[], float],
) -> Courier:
    """The outbox worker, with the outboxes known so far (the adapters add theirs)."""
    q = config.queues
    built = Courier(
        store,
        lease_s=q.outbox_lease_s,
        poll_s=q.outbox_poll_s,
        attempts=q.outbox_attempts,
        clock=clock,
    )
    built.senders.update(outboxes)
    return built


def agent_desk(
    config: Config,
    store: Store,
    presence: Presence,
    routing: Routing,
    metrics: Metrics,
    *,
    courier: Courier,
    clock: Callable[[], float],
) -> AgentDesk:
    return AgentDesk(
        store=store,
        presence=presence,
        courier=courier,
        clock=clock,
        teams=routing.teams,
        dispositions=config.dispositions,
        lease_s=config.queues.lease_s,
        metrics=metrics,
        capacity=config.desk.capacity_rules,
    )


def contact_service(
    config: Config,
    store: Store,
    *,
    routing: Routing,
    directories: tuple[AccountDirectory, AgentDirectory],
    presence: Presence,
    desk: AgentDesk,
    metrics: Metrics,
    key: bytes,
    clock: Callable[[], float],
) -> ContactService:
    """The contact service, telling ``desk`` of what it queues and what leaves."""
    accounts, agents = directories
    return ContactService(
        store=store,
        engine=Engine(config.book),
        routing=routing,
        verifier=_verifier(config, accounts, store, key, clock),
        accounts=accounts,
        presence=presence,
        clock=clock,
        default_language=config.languages.default,
        languages=config.languages.supported,
        session_ttl_s=config.queues.session_ttl_s,
        on_enqueued=desk.notify,
        on_left=desk.moved,
        agent_target=lambda name: _target(agents, name),
        metrics=metrics,
    )


def after_care(
    config: Config,
    service: ContactService,
    desk: AgentDesk,
    courier: Courier,
    clock: Callable[[], float],
    accounts: AccountDirectory,
) -> None:
    """What hangs on the service's hooks: surveys, the address join, standings."""
    _surveys(config, service, desk, courier, clock, accounts)
    # A verified customer's earlier contacts from the address join their timeline.
    service.flows.after_verify.append(AddressJoin(service.store, clock=clock))
    _standings(config, service, desk, courier, clock)


def _standings(
    config: Config,
    service: ContactService,
    desk: AgentDesk,
    courier: Courier,
    clock: Callable[[], float],
) -> None:
    """Where a waiting customer stands: status answers, and unasked updates looked at on
    each claim (``router.contacts.Standings``)."""
    settings = config.queue_status
    standings = Standings(
        store=service.store,
        engine=service.engine,
        announcer=service.announcer,
        courier=courier,
        clock=clock,
        default_language=config.languages.default,
        words=StatusWords(settings.keywords),
        rule=ChangeRule(settings.large_change_share, settings.large_change_min),
        answer=settings.answer,
        updates=settings.updates,
        metrics=service.metrics,
    )
    service.standing = standings
    desk.on_claimed.append(standings.claimed)


def _surveys(
    config: Config,
    service: ContactService,
    desk: AgentDesk,
    courier: Courier,
    clock: Callable[[], float],
    accounts: AccountDirectory,
) -> None:
    """CSAT after a resolve and first-contact resolution (``router.contacts.Surveys``)."""
    surveys = Surveys(
        store=service.store,
        courier=courier,
        engine=service.engine,
        channels=config.survey.channels,
        answer_window_s=config.survey.answer_window_s,
        fcr_window_s=config.survey.fcr_window_s,
        clock=clock,
        default_language=config.languages.default,
        find_account=accounts.find,  # a code typed in an answer is masked
    )
    service.surveys = surveys
    service.flows.after_enqueue.append(surveys.arrived)
    desk.on_resolved.append(surveys.after_resolve)


def _verifier(
    config: Config,
    accounts: AccountDirectory,
    store: Store,
    key: bytes,
    clock: Callable[[], float],
) -> Verifier:
    v = config.verification
    return Verifier(
        accounts,
        store,
        key,
        max_failures=v.max_failures,
        window_s=v.window_s,
        lock_s=v.lock_s,
        address_max_failures=v.address_max_failures,
        address_window_s=v.address_window_s,
        clock=clock,
    )


def _target(agents: AgentDirectory, name: str) -> AgentTarget | None:
    agent = agents.get(name)
    if agent is None:
        return AgentTarget(name)
    return AgentTarget(name, agent.phone, agent.client_identity)
