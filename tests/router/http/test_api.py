"""The agent API through aiohttp's test client: contract paths, auth and error codes."""

from __future__ import annotations

import asyncio

import pytest

from channels import Reply
from queues import Channel
from tests.router.conftest import Desk

STORE_BACKENDS = ["memory", "sqlite", "redis"]


async def queue_one(
    desk: Desk, address: str = "+48600000001", text: str = "faktura za listopad"
) -> str:
    sms = desk.channels[Channel.SMS]
    await sms.say(address, text)
    answer = await sms.say(address, "jan.kowalski 482913")
    return answer.contact.id


async def test_no_or_bad_token_is_401(desk: Desk) -> None:
    resp = await desk.client.get("/api/queues")
    assert resp.status == 401
    assert "token" in (await resp.json())["error"]
    resp = await desk.client.get("/api/queues", headers={"Authorization": "Bearer nope"})
    assert resp.status == 401


async def test_queues_lists_every_team(desk: Desk) -> None:
    await queue_one(desk)
    status, queues = await desk.api("ania", "GET", "/api/queues")
    assert status == 200
    assert [q["team"] for q in queues] == ["billing", "technical", "domains_hosting"]
    billing = queues[0]
    assert billing["waiting"] == 1 and billing["oldest_wait_s"] == pytest.approx(0)
    assert set(billing) >= {"team", "waiting", "oldest_wait_s", "agents_available"}


async def test_claim_empty_is_204_and_long_poll_wakes_on_enqueue(desk: Desk) -> None:

    status, _ = await desk.api("ola", "POST", "/api/claim", {})
    assert status == 204
    waiting = asyncio.create_task(desk.api("ola", "POST", "/api/claim", {"wait_s": 10}))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    cid = await queue_one(desk)
    status, contact = await asyncio.wait_for(waiting, 5)
    assert status == 200 and contact["id"] == cid


async def test_claim_refuses_team_the_agent_does_not_serve(desk: Desk) -> None:
    status, body = await desk.api("tomek", "POST", "/api/claim", {"teams": ["billing"]})
    assert status == 422 and "does not serve" in body["error"]


async def test_bad_bodies(desk: Desk) -> None:
    resp = await desk.client.post("/api/claim", data=b"{not json", headers=desk.auth("ania"))
    assert resp.status == 400 and "not JSON" in (await resp.json())["error"]
    status, body = await desk.api("ania", "POST", "/api/claim", {"wait_s": 99})
    assert status == 422 and "wait_s" in body["error"]
    status, body = await desk.api("ania", "POST", "/api/claim", {"tems": ["billing"]})
    assert status == 422 and "tems" in body["error"]


async def test_holder_rules(desk: Desk) -> None:
    cid = await queue_one(desk)
    status, _ = await desk.api("ania", "POST", f"/api/contacts/{cid}/reply", {"text": "hi"})
    assert status == 403
    status, claimed = await desk.api("ania", "POST", "/api/claim", {})
    assert status == 200 and claimed["id"] == cid
    for path, body in [
        ("reply", {"text": "hi"}),
        ("resolve", {}),
        ("release", None),
        ("heartbeat", None),
    ]:
        status, error = await desk.api("ola", "POST", f"/api/contacts/{cid}/{path}", body)
        assert status == 403, path
        assert "does not hold" in error["error"]
    status, _ = await desk.api("ania", "POST", f"/api/contacts/{cid}/heartbeat")
    assert status == 200
    status, body = await desk.api(
        "ania", "POST", f"/api/contacts/{cid}/resolve", {"disposition": "nope"}
    )
    assert status == 422 and "solved" in body["error"]
    status, _ = await desk.api(
        "ania", "POST", f"/api/contacts/{cid}/resolve", {"disposition": "solved"}
    )
    assert status == 200
    status, body = await desk.api("ania", "POST", f"/api/contacts/{cid}/release")
    assert status == 409 and body["state"] == "resolved"


async def test_unknown_contact_is_404(desk: Desk) -> None:
    status, body = await desk.api("ania", "GET", "/api/contacts/nope")
    assert status == 404 and "nope" in body["error"]


async def test_transfer_and_release(desk: Desk) -> None:
    cid = await queue_one(desk)
    await desk.api("ania", "POST", "/api/claim", {})
    status, body = await desk.api(
        "ania", "POST", f"/api/contacts/{cid}/transfer", {"team": "sales"}
    )
    assert status == 422
    status, body = await desk.api(
        "ania", "POST", f"/api/contacts/{cid}/transfer", {"team": "technical"}
    )
    assert status == 200 and body["team"] == "technical"
    status, contact = await desk.api("tomek", "POST", "/api/claim", {})
    assert status == 200 and contact["id"] == cid and contact["team"] == "technical"
    status, _ = await desk.api("tomek", "POST", f"/api/contacts/{cid}/release")
    assert status == 200
    status, contact = await desk.api("ania", "GET", f"/api/contacts/{cid}")
    assert contact["state"] == "waiting" and contact["position"] == 1


async def test_reply_is_retried_at_once_then_a_failure_is_502_and_recorded(desk: Desk) -> None:
    cid = await queue_one(desk)
    await desk.api("ania", "POST", "/api/claim", {})
    desk.channels[Channel.SMS].fail_next = 1  # the provider's hiccup: tried again at once
    status, sent = await desk.api("ania", "POST", f"/api/contacts/{cid}/reply", {"text": "Już."})
    assert status == 200 and sent["meta"]["delivery"] == "sent"
    desk.channels[Channel.SMS].fail_next = 4  # every attempt the agent waits for
    status, body = await desk.api("ania", "POST", f"/api/contacts/{cid}/reply", {"text": "Halo?"})
    assert status == 502 and body["retryable"] is True
    _, contact = await desk.api("ania", "GET", f"/api/contacts/{cid}")
    assert [m["text"] for m in contact["messages"] if m["author"] == "ania"] == ["Już.", "Halo?"]
    assert contact["messages"][-1]["meta"] == {
        "delivery": "failed",
        "reason": "the provider answered 500",
    }
    assert [r.text for r in desk.channels[Channel.SMS].sent] == ["Już."]


async def test_list_contacts_filters(desk: Desk) -> None:
    first = await queue_one(desk, "+48600000001")
    second = await queue_one(desk, "+48600000002", "internet nie działa")
    status, listed = await desk.api("ania", "GET", "/api/contacts?state=waiting")
    assert status == 200 and [c["id"] for c in listed] == [second, first]
    _, listed = await desk.api("ania", "GET", "/api/contacts?team=technical")
    assert [c["id"] for c in listed] == [second]
    _, listed = await desk.api("ania", "GET", "/api/contacts?address=%2B48600000001&limit=1")
    assert [c["id"] for c in listed] == [first]
    status, _ = await desk.api("ania", "GET", "/api/contacts?limit=lots")
    assert status == 400


async def test_a_list_leaves_messages_out_rather_than_show_none(desk: Desk) -> None:
    cid = await queue_one(desk)
    _, listed = await desk.api("ania", "GET", "/api/contacts")
    assert [c["id"] for c in listed] == [cid] and "messages" not in listed[0]
    assert {"id", "channel", "address", "state", "team", "verified"} <= set(listed[0])
    _, one = await desk.api("ania", "GET", f"/api/contacts/{cid}")
    assert [m["text"] for m in one["messages"]][:1] == ["faktura za listopad"]


async def test_incidents_open_raise_priority_and_close(desk: Desk) -> None:
    status, incident = await desk.api(
        "ania",
        "POST",
        "/api/incidents",
        {"team": "technical", "text": "Awaria światłowodu w Krakowie"},
    )
    assert status == 201
    sms = desk.channels[Channel.SMS]
    await sms.say("+48600000009", "internet nie działa")
    answer = await sms.say("+48600000009", "jan.kowalski 482913")
    assert any("Awaria światłowodu" in p.text for p in answer.prompts)
    assert answer.contact.priority == 60 + 60
    status, _ = await desk.api("ania", "DELETE", f"/api/incidents/{incident['id']}")
    assert status == 200
    status, _ = await desk.api("ania", "DELETE", "/api/incidents/nope")
    assert status == 404
    _, listed = await desk.api("ania", "GET", "/api/incidents")
    assert listed[0]["closed_at"] is not None


async def test_health_ready_metrics(desk: Desk) -> None:
    assert (await desk.client.get("/healthz")).status == 200
    ready = await desk.client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["store"] == "ok"
    await queue_one(desk)
    metrics = await desk.client.get("/metrics")
    text = await metrics.text()
    assert 'switchboard_queue_waiting{team="billing"} 1.0' in text
    assert "switchboard_store_up 1.0" in text


async def test_message_and_verification_counters_count_real_traffic(desk: Desk) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    sms = desk.channels[Channel.SMS]
    await sms.say("+48600000011", "faktura za listopad")
    await sms.say("+48600000011", "jan.kowalski 111111")  # wrong code
    answer = await sms.say("+48600000011", "jan.kowalski 482913")
    await sms.say("+48600000011", "faktura za listopad")  # joins the waiting contact
    status, claimed = await desk.api("ania", "POST", "/api/claim", {})
    assert status == 200 and claimed["id"] == answer.contact.id
    status, _ = await desk.api(
        "ania", "POST", f"/api/contacts/{claimed['id']}/reply", {"text": "hi"}
    )
    assert status == 200
    contact = await desk.ctx.store.get_contact(answer.contact.id)
    told = sum(1 for m in contact.messages if m.direction.value == "out")

    body = await (await desk.client.get("/metrics")).text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    sms_in = ("switchboard_messages_total", (("channel", "sms"), ("direction", "in")))
    sms_out = ("switchboard_messages_total", (("channel", "sms"), ("direction", "out")))
    assert samples[sms_in] == 4
    assert told >= 4 and samples[sms_out] == told  # the flow's prompts and the agent's reply
    assert samples[("switchboard_verifications_total", (("result", "wrong_code"),))] == 1
    assert samples[("switchboard_verifications_total", (("result", "ok"),))] == 1


async def test_occupancy_gauge_is_time_busy_over_time_logged_in(desk: Desk) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    async def there(agents: list[str], seconds: int, *, held: str | None = None) -> None:
        """Each agent's console says they are there every minute; ania heartbeats ``held``."""
        for _ in range(seconds // 60):
            desk.clock.advance(60)
            for agent in agents:
                if agent == "ania" and held is not None:
                    status, _ = await desk.api(agent, "POST", f"/api/contacts/{held}/heartbeat")
                else:
                    status, _ = await desk.api(
                        agent, "POST", "/api/presence", {"status": "available"}
                    )
                assert status == 200

    # ania serves billing, technical and domains_hosting; tomek technical.
    cid = await queue_one(desk)
    for agent in ("ania", "tomek"):
        status, _ = await desk.api(agent, "POST", "/api/presence", {"status": "available"})
        assert status == 200
    status, claimed = await desk.api("ania", "POST", "/api/claim", {})
    assert status == 200 and claimed["id"] == cid
    await there(["ania", "tomek"], 600, held=cid)  # ania busy 10 min
    status, _ = await desk.api(
        "ania", "POST", f"/api/contacts/{cid}/resolve", {"disposition": "solved"}
    )
    assert status == 200
    await there(["ania", "tomek"], 300)
    status, _ = await desk.api("tomek", "POST", "/api/presence", {"status": "break"})
    assert status == 200
    await there(["ania"], 300)  # ania logged in 20 min, tomek 15 min, then on a break

    body = await (await desk.client.get("/metrics")).text()
    occupancy = {
        s.labels["team"]: s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == "switchboard_occupancy_ratio"
    }
    # Busy: the 10 minutes held and the 30 s wrap-up after the resolve (desk.wrap_up_s).
    assert occupancy["billing"] == occupancy["domains_hosting"] == 630 / 1200
    assert occupancy["technical"] == pytest.approx(630 / (1200 + 900))
    _, stats = await desk.api("ola", "GET", "/api/stats")
    overall = stats["overall"]
    assert (overall["agents_busy_s"], overall["agents_logged_in_s"]) == (630.0, 2100.0)


async def test_an_expired_lease_frees_the_agent_in_the_counts(desk: Desk) -> None:
    cid = await queue_one(desk)
    status, claimed = await desk.api("ania", "POST", "/api/claim", {"teams": ["billing"]})
    assert status == 200 and claimed["id"] == cid
    _, queues = await desk.api("ola", "GET", "/api/queues")
    billing = next(q for q in queues if q["team"] == "billing")
    assert (billing["agents_busy"], billing["assigned"]) == (1, 1)
    desk.clock.advance(61)  # past the 60 s lease without a heartbeat
    assert await desk.ctx.desk.reap() == [cid]
    _, queues = await desk.api("ola", "GET", "/api/queues")
    billing = next(q for q in queues if q["team"] == "billing")
    assert (billing["agents_busy"], billing["waiting"]) == (0, 1)


async def test_a_reply_left_in_the_outbox_by_a_dead_process_is_sent_and_recorded_once(
    desk: Desk,
) -> None:
    cid = await queue_one(desk)
    await desk.api("ania", "POST", "/api/claim", {})
    contact = await desk.ctx.store.get_contact(cid, messages=False)
    reply = Reply(cid, Channel.SMS, contact.address, "Już sprawdzam.", "pl", author="ania")
    await desk.ctx.courier.stop()  # this process delivers only when the test says
    # Another process posted the reply and died before sending it; its lease ran out.
    assert await desk.ctx.courier.post("reply-of-a-dead-process", reply, kind="reply")
    assert len(await desk.ctx.store.take_parcels(lease_s=1, limit=10)) == 1
    desk.clock.advance(2)
    assert await desk.ctx.courier.drain() == 1
    assert [r.text for r in desk.channels[Channel.SMS].sent] == ["Już sprawdzam."]
    _, shown = await desk.api("ania", "GET", f"/api/contacts/{cid}")
    (recorded,) = [m for m in shown["messages"] if m["author"] == "ania"]
    assert recorded["id"] == "reply-of-a-dead-process"
    assert recorded["meta"] == {"delivery": "sent", "provider_id": "sms-1"}
    assert not await desk.ctx.courier.post("reply-of-a-dead-process", reply, kind="reply")
    assert await desk.ctx.courier.drain() == 0
