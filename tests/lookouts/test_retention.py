"""Lookouts follow their retention lane: a month after expiry (or withdrawal) a lookout
goes with its acknowledgements, leaving a tombstone; a live one stays."""

from __future__ import annotations

from datetime import timedelta

from functions import jobs
from shared.records import LOOKOUT_ACKNOWLEDGEMENTS, LOOKOUTS
from tests.fixtures_http import both_backends
from tests.lookouts.helpers import NW, PREFIX, RI, RR, issue, list_person


@both_backends
def test_lookouts_and_acknowledgements_go_a_month_after_expiry_or_withdrawal_leaving_tombstones(stamp):
    list_person(stamp)
    short = issue(stamp, expires_at=(stamp.clock.now() + timedelta(days=2)).isoformat())
    ack = stamp.client.post(f"{PREFIX}/lookouts/{short['id']}/acknowledgements", json={"store_id": "nw-exeter"}, headers=stamp.auth(NW, RR))
    assert ack.status_code == 201
    withdrawn = issue(stamp, expires_at=(stamp.clock.now() + timedelta(days=30)).isoformat())
    assert stamp.client.post(f"{PREFIX}/lookouts/{withdrawn['id']}/withdraw", headers=stamp.auth(NW, RI)).status_code == 200
    stamp.clock.advance(days=20)
    live = issue(stamp, expires_at=(stamp.clock.now() + timedelta(days=30)).isoformat())
    jobs.load_all()
    sweep = jobs.TIMER_JOBS["retention"].run

    # A month and a bit after the first expiry (and the withdrawal, earlier): both go; the live one stays.
    report = sweep(stamp.container, stamp.clock.now() + timedelta(days=20))
    assert report.counts["lookouts_deleted"] == 2
    with stamp.container.records.read_only() as uow:
        assert [d["id"] for d in uow.query(LOOKOUTS.name, [NW], []).items] == [live["id"]]
        assert uow.count(LOOKOUT_ACKNOWLEDGEMENTS.name, [NW]) == 0
    inv = stamp.auth(NW, RI)
    assert stamp.client.get(f"{PREFIX}/lookouts/{short['id']}", headers=inv).status_code == 404
    tombstones = stamp.client.get(f"{PREFIX}/retention/tombstones", params={"type": "lookout"}, headers=inv).json()
    assert sorted(t["entity_id"] for t in tombstones["items"]) == sorted([short["id"], withdrawn["id"]])
