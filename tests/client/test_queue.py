"""Offline store-and-forward against a real stamp: reports and evidence queued while the
stamp is down survive a restart of the till, drain in order once it is back, and each
lands exactly once however often the queue is drained."""

from __future__ import annotations

import pytest

from vigil_client import VigilClient, VigilNetworkError
from vigil_client.client import file_sha256
from vigil_client.queue import OfflineQueue

# One real stamp serves the folder: keep its tests on one xdist worker.
pytestmark = pytest.mark.xdist_group("client-stamp")


def report(n: int) -> dict:
    return {
        "store_id": "nw-plymouth",
        "category": "shop_theft",
        "occurred_at": "2026-11-21T09:15:00+00:00",
        "narrative": f"Queued while offline #{n}: razor blades taken from aisle 2.",
        "reporter": {"name": "Priya Shah"},
    }


def test_a_queue_filled_while_the_stamp_is_down_drains_once_in_order_when_it_returns(stamp, tmp_path):
    token = stamp.token()
    token.token()  # signed in before the link went down
    photo = tmp_path / "aisle-2.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    stamp.stop()
    try:
        queue = OfflineQueue(tmp_path / "till" / "queue.sqlite3")
        with VigilClient(stamp.url, token, retries=1, sleep=lambda s: None) as client:
            first = None
            for n in range(3):
                with pytest.raises(VigilNetworkError):
                    client.report_incident(report(n))
                seq = queue.enqueue_report(report(n))
                first = first or seq
            queue.enqueue_evidence(photo, after=first, kind="photo")
            offline = queue.drain(client)
        assert offline.offline and not offline.sent and queue.counts()["pending"] == 4
        queue.close()
    finally:
        stamp.start()

    # The till restarts: the queue is read back from its file.
    queue = OfflineQueue(tmp_path / "till" / "queue.sqlite3")
    with VigilClient(stamp.url, token) as client:
        drained = queue.drain(client)
        assert [e.kind for e in drained.sent] == ["report", "report", "report", "evidence"]
        assert [e.seq for e in drained.sent] == sorted(e.seq for e in drained.sent)
        assert queue.counts() == {"pending": 0, "sent": 4, "failed": 0}
        # Sent reports leave no personal data on the till: only what they became.
        assert all(e.payload == {} and set(e.result or {}) <= {"id", "reference"} for e in queue.entries())
        assert not queue.drain(client).sent
        incident_of_first = drained.sent[0].result["id"]
        evidence = client.list_evidence(incident_of_first)
        assert [e["sha256"] for e in evidence] == [file_sha256(photo)]
        for n in range(3):
            landed = [i for i in client.iter_incidents(store="nw-plymouth") if i["narrative"] == report(n)["narrative"]]
            assert len(landed) == 1
    queue.close()


def test_a_report_the_api_refuses_is_marked_failed_with_the_problem_and_the_rest_still_go(stamp, tmp_path):
    queue = OfflineQueue(tmp_path / "queue.sqlite3")
    bad = queue.enqueue_report({**report(10), "category": "shoplifting"})
    good = queue.enqueue_report(report(11))
    with VigilClient(stamp.url, stamp.token()) as client:
        drained = queue.drain(client)
    assert [e.seq for e in drained.failed] == [bad] and [e.seq for e in drained.sent] == [good]
    assert "category" in (queue.get(bad).last_error or "")
    assert queue.get(bad).payload["category"] == "shoplifting"  # kept to be corrected
    assert queue.discard(bad) and queue.get(bad) is None and not queue.discard(good)
    queue.close()
