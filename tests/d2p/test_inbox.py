"""A force's D2P inbox (the console's /inbox reads it): what the force received, newest
first, its slices against the force's acknowledgement target, paging, and priority."""

from __future__ import annotations

import pytest

from shared.domain.d2p import AcknowledgeIn, Dispatch, InboxView
from shared.domain.errors import NotFound
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.domain.timestamps import to_iso
from shared.records import DISPATCHES
from shared.services.repository import dump
from tests.d2p.helpers import add_evidence, drain, report
from tests.fixtures_http import both_backends

FORCE = "devon-and-cornwall"


def officer(force: str = "devon-and-cornwall") -> Principal:
    return Principal(
        user_id=f"{force}-officer", organisation_id=force, organisation_kind=OrgKind.POLICE_FORCE, roles=frozenset({Role.POLICE_OFFICER})
    )


def sent(stamp, **overrides) -> dict:
    incident = report(stamp, **overrides)
    add_evidence(stamp, incident, "cctv", "suspect_image")
    assert (
        stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator")).status_code
        == 202
    )
    drain(stamp)
    return incident


def put_sent(stamp, n: int, *, flags: dict | None = None, category: str = "shop_theft") -> str:
    """A dispatch written as the pipeline leaves it once the email went (the pipeline itself is tested in test_pipeline.py)."""
    now = to_iso(stamp.clock.now())
    incident = {
        "id": f"inbox-{n}",
        "organisation_id": "northwind",
        "store_id": "nw-plymouth",
        "reference": f"NW-9{n:05d}",
        "category": category,
        "occurred_at": now,
        "reported_at": now,
        "flags": flags or {},
    }
    d = Dispatch.open(incident, force_id="devon-and-cornwall", rules_version=1, by="test", auto=False, now=now)
    d.start_sending(to="control-room@devon-cornwall.police.example", delivery=1, now=now)
    d.mark_sent(provider_message_id=f"m{n}", email={"subject": "s"}, now=now)
    with stamp.container.records.unit_of_work() as uow:
        uow.insert(DISPATCHES.name, "northwind", dump(d))
    return d.id


@both_backends
def test_inbox_slices_pages_and_priority(stamp):
    police = stamp.container.d2p.police
    old = put_sent(stamp, 1)
    stamp.clock.advance(hours=25)
    detained = put_sent(stamp, 2, flags={"offender_detained": True})
    queued = Dispatch.open(
        {"id": "inbox-3", "organisation_id": "northwind", "store_id": "nw-plymouth", "reference": "NW-900003", "category": "robbery",
         "occurred_at": "2026-01-01T00:00:00+00:00", "reported_at": "2026-01-01T00:00:00+00:00"},
        force_id="devon-and-cornwall", rules_version=1, by="test", auto=False, now=to_iso(stamp.clock.now()),
    )  # fmt: skip
    with stamp.container.records.unit_of_work() as uow:
        uow.insert(DISPATCHES.name, "northwind", dump(queued))  # not yet sent: not in the force's inbox

    everything = police.inbox(officer(), FORCE, InboxView.ALL, limit=10)
    assert [d.id for d in everything.items] == [detained, old]
    assert everything.acknowledge_within_hours == 24
    assert everything.items[0].priority == ["suspect detained"] and everything.items[1].priority == []
    assert queued.priority == ["violence"]

    assert [d.id for d in police.inbox(officer(), FORCE, InboxView.OVERDUE, limit=10).items] == [old]
    assert [d.id for d in police.inbox(officer(), FORCE, InboxView.NEW, limit=10).items] == [detained]

    first = police.inbox(officer(), FORCE, InboxView.UNACKNOWLEDGED, limit=1)
    second = police.inbox(officer(), FORCE, InboxView.UNACKNOWLEDGED, limit=1, continuation=first.continuation)
    assert [d.id for d in first.items + second.items] == [detained, old]
    assert police.inbox(officer("avon-and-somerset"), "avon-and-somerset", InboxView.ALL, limit=10).items == []


def test_case_is_only_the_receiving_forces(stamp):
    incident = sent(stamp)
    police = stamp.container.d2p.police
    assert police.case(officer(), incident["id"]).reference == incident["reference"]
    with pytest.raises(NotFound):
        police.case(officer("avon-and-somerset"), incident["id"])
    with pytest.raises(NotFound):
        police.case(officer(), report(stamp)["id"])
    with pytest.raises(NotFound):
        police.inbox(officer("avon-and-somerset"), FORCE, InboxView.ALL, limit=10)
    police.acknowledge(officer(), f"{incident['id']}.devon-and-cornwall", AcknowledgeIn(crime_reference="CR/1/26"))
    assert police.inbox(officer(), FORCE, InboxView.UNACKNOWLEDGED, limit=10).items == []
    assert [d.crime_reference for d in police.inbox(officer(), FORCE, InboxView.ALL, limit=10).items] == ["CR/1/26"]


def test_inbox_route_for_any_officer_of_the_force(stamp):
    first = sent(stamp, flags={"violence": True})
    stamp.clock.advance(hours=30)
    second = sent(stamp, flags={"violence": False}, category="shop_theft")
    url = f"/api/v1/forces/{FORCE}/d2p-inbox"
    page1 = stamp.client.get(url, params={"limit": 1}, headers=stamp.auth(FORCE, "Police.Officer")).json()
    assert [i["incident_id"] for i in page1["items"]] == [second["id"]] and page1["items"][0]["priority"] == []
    page2 = stamp.client.get(url, params={"limit": 1, "continuation": page1["continuation"]}, headers=stamp.auth(FORCE, "Police.Officer"))
    item = page2.json()["items"][0]
    assert item["incident_id"] == first["id"] and item["priority"] == ["violence"] and item["overdue"] is True
    overdue = stamp.client.get(url, params={"view": "overdue"}, headers=stamp.auth(FORCE, "Police.Analyst")).json()
    assert [i["reference"] for i in overdue["items"]] == [first["reference"]] and overdue["acknowledge_within_hours"] == 24
    assert stamp.client.get(url, headers=stamp.auth("avon-and-somerset", "Police.Officer")).status_code == 404
    assert stamp.client.get(url, headers=stamp.auth("northwind", "Retailer.Investigator")).status_code == 403
