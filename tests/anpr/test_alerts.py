"""Hit alerts: subscriptions, signed webhooks checked by the reference receiver, retries."""

from __future__ import annotations

import json

import pytest

from shared.domain.anpr import sign
from tests.anpr.helpers import API, drain, list_vehicle, post_reads, read
from tests.fixtures_http import both_backends
from tools.webhook_receiver import Receiver, serve

# The reference receiver listens on 127.0.0.1: these stamps let alerts reach loopback.
pytestmark = pytest.mark.stamp_settings(webhook_allow_private_networks=True)


@pytest.fixture
def receiver(stamp):
    holder = {}

    def start(secret):
        rec = Receiver(secret, now=lambda: stamp.clock.now().timestamp())
        server = serve(rec)
        holder["server"] = server
        return rec, f"http://127.0.0.1:{server.server_address[1]}/alerts"

    yield start
    if "server" in holder:
        holder["server"].shutdown()


def subscribe(stamp, url, *, org="northwind", role="Retailer.Investigator", **body):
    payload = {"stores": ["nw-plymouth"], "webhook_url": url, **body}
    r = stamp.client.post(f"{API}/alert-subscriptions", json=payload, headers=stamp.auth(org, role))
    assert r.status_code == 201, r.text
    return r.json()


@both_backends
def test_hit_sends_one_signed_alert_to_the_subscriber(stamp, receiver):
    rec, url = receiver("not-yet-known")
    sub = subscribe(stamp, url)
    rec.secrets = [sub["secret"]]  # the secret comes once, in the answer to the subscription
    assert sub["secret"].startswith("whsec_")
    listed = stamp.client.get(f"{API}/alert-subscriptions", headers=stamp.auth("northwind", "Retailer.Investigator")).json()["items"]
    assert "secret" not in listed[0]
    list_vehicle(stamp, "WR21XKD")
    hits = post_reads(stamp, [read(stamp, "wr21 xkd")]).json()["hits"]
    drain(stamp)
    assert len(rec.accepted) == 1, rec.rejected
    alert = rec.accepted[0]
    assert alert["type"] == "anpr.hit" and alert["hit"]["id"] == hits[0]["id"] and alert["hit"]["plate"] == "WR21XKD"
    # The same hit posted again (a re-sent batch) alerts nobody twice.
    post_reads(stamp, [read(stamp, "wr21 xkd")])
    drain(stamp)
    assert len(rec.accepted) == 1
    deliveries = stamp.client.get(
        f"{API}/alert-subscriptions/{sub['id']}/deliveries", headers=stamp.auth("northwind", "Retailer.Investigator")
    ).json()["items"]
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("delivered", 1)]


def test_an_alert_survives_a_queue_outage_at_ingest(stamp, receiver, monkeypatch):
    """The hit's alert message is written with the hit: if the queue is down when the batch
    is stored, the reads and hit are kept and the outbox-relay timer sends the alert later."""
    from functions import jobs

    rec, url = receiver("unused")
    rec.secrets = [subscribe(stamp, url)["secret"]]
    list_vehicle(stamp, "WR21XKD")
    queue = stamp.container.queue
    real_send = queue.send

    def queue_down(*args, **kwargs):
        raise ConnectionError("queue unavailable")

    monkeypatch.setattr(queue, "send", queue_down)
    r = post_reads(stamp, [read(stamp, "wr21 xkd")])
    assert r.status_code == 200 and len(r.json()["hits"]) == 1
    drain(stamp)
    assert rec.accepted == []
    monkeypatch.setattr(queue, "send", real_send)
    jobs.load_all()
    assert jobs.run_job(stamp.container, "outbox-relay", stamp.clock.now()).counts["relayed"] == 1
    drain(stamp)
    assert len(rec.accepted) == 1 and rec.accepted[0]["hit"]["id"] == r.json()["hits"][0]["id"]
    # Relayed once: a second relay run finds nothing left.
    assert jobs.run_job(stamp.container, "outbox-relay", stamp.clock.now()).counts["relayed"] == 0


@both_backends
def test_force_area_subscription_hears_of_hits_from_sharing_retailers(stamp, receiver):
    rec, url = receiver("unused")
    sub = subscribe(stamp, url, org="devon-and-cornwall", role="Police.Analyst", stores=[], force_area="devon-and-cornwall")
    rec.secrets = [sub["secret"]]
    list_vehicle(stamp, "GX70ABC", org="devon-and-cornwall", role="Police.Analyst")
    post_reads(stamp, [read(stamp, "GX70ABC")])
    drain(stamp)
    assert len(rec.accepted) == 1
    assert rec.accepted[0]["hit"]["vehicle_reason"].startswith("Used in thefts")


def deliveries(stamp, org, role, sub_id):
    r = stamp.client.get(f"{API}/alert-subscriptions/{sub_id}/deliveries", headers=stamp.auth(org, role))
    assert r.status_code == 200, r.text
    return r.json()["items"]


@both_backends
def test_a_hit_alerts_only_its_vehicles_owner(stamp):
    """A force's vehicle seen by a retailer's camera alerts the force, never the retailer's
    store subscriptions (no webhook, no email); the retailer's own vehicle alerts the
    retailer, never the force."""
    email = {"webhook_url": None, "email": ["alerts@northwind.example"]}
    retailer = subscribe(stamp, None, **email)
    force = subscribe(
        stamp, None, org="devon-and-cornwall", role="Police.Analyst", stores=[], force_area="devon-and-cornwall", email=["cr@dc.example"]
    )
    list_vehicle(stamp, "GX70ABC", org="devon-and-cornwall", role="Police.Analyst")
    list_vehicle(stamp, "WR21XKD")
    post_reads(stamp, [read(stamp, "GX70ABC"), read(stamp, "WR21XKD")])
    drain(stamp)
    [to_force] = deliveries(stamp, "devon-and-cornwall", "Police.Analyst", force["id"])
    [to_retailer] = deliveries(stamp, "northwind", "Retailer.Investigator", retailer["id"])
    assert to_force["status"] == to_retailer["status"] == "delivered"
    with stamp.container.records.unit_of_work() as uow:
        force_copy = uow.get("alert_deliveries", "devon-and-cornwall", to_force["id"])
        retailer_copy = uow.get("alert_deliveries", "northwind", to_retailer["id"])
    assert force_copy["payload"]["hit"]["plate"] == "GX70ABC"
    assert retailer_copy["payload"]["hit"]["plate"] == "WR21XKD"
    sent = [p.read_text() for p in stamp.container.mail.messages()]
    assert not any("GX70ABC" in m and "northwind.example" in m for m in sent)


def test_receiver_rejects_tampered_replayed_and_stale_alerts(stamp):
    now = 1_800_000_000
    rec = Receiver("whsec_k", now=lambda: now)
    body = json.dumps({"type": "anpr.hit", "hit": {"plate": "WR21XKD"}}).encode()
    ts = str(now)
    headers = {"Vigil-Timestamp": ts, "Vigil-Signature": sign("whsec_k", ts, body), "Idempotency-Key": "alert-1"}
    assert rec.handle(headers, body) == (200, {"accepted": True})
    tampered = body.replace(b"WR21XKD", b"AB12CDE")
    assert rec.handle({**headers, "Idempotency-Key": "alert-2"}, tampered)[0] == 401
    assert rec.handle(headers, body) == (200, {"duplicate": True})  # replay: acknowledged, not processed again
    stale_ts = str(now - 301)
    stale = {"Vigil-Timestamp": stale_ts, "Vigil-Signature": sign("whsec_k", stale_ts, body), "Idempotency-Key": "alert-3"}
    assert rec.handle(stale, body)[0] == 400
    forged = {**headers, "Vigil-Signature": sign("whsec_guess", ts, body), "Idempotency-Key": "alert-4"}
    assert rec.handle(forged, body)[0] == 401
    assert len(rec.accepted) == 1


@both_backends
def test_failed_webhook_backs_off_then_dead_letters(stamp):
    stamp.container.settings.webhook_max_attempts = 3
    sub = subscribe(stamp, "http://127.0.0.1:9/alerts")  # nothing listens on port 9
    list_vehicle(stamp, "WR21XKD")
    post_reads(stamp, [read(stamp, "WR21XKD")])
    drain(stamp, rounds=1)  # fan-out and the first attempt
    service = stamp.container.anpr.alerts
    [delivery] = stamp.client.get(
        f"{API}/alert-subscriptions/{sub['id']}/deliveries", headers=stamp.auth("northwind", "Retailer.Investigator")
    ).json()["items"]
    assert delivery["status"] == "retrying" and delivery["attempts"] == 1
    assert delivery["next_attempt_at"] > delivery["created_at"]
    assert service.deliver("northwind", delivery["id"]) == "retrying"
    assert service.deliver("northwind", delivery["id"]) == "dead_lettered"
    assert service.deliver("northwind", delivery["id"]) == "dead_lettered"  # no further attempts
    [after] = stamp.client.get(
        f"{API}/alert-subscriptions/{sub['id']}/deliveries", headers=stamp.auth("northwind", "Retailer.Investigator")
    ).json()["items"]
    assert after["status"] == "dead_lettered" and after["attempts"] == 3
    # What failed, without the error's class or message (the subscriber reads this list).
    assert after["last_error"] == "connection failed"


def test_subscription_rules(stamp):
    inv = stamp.auth("northwind", "Retailer.Investigator")
    bad = [
        ({"stores": ["ct-bristol"], "email": ["a@b.example"]}, "stores.0"),
        ({"stores": ["nw-plymouth"]}, "email"),
        ({"stores": ["nw-plymouth"], "webhook_url": "http://receiver.example/alerts"}, "webhook_url"),
        ({"stores": ["nw-plymouth"], "email": ["not-an-address"]}, "email"),
    ]
    for body, field in bad:
        r = stamp.client.post(f"{API}/alert-subscriptions", json=body, headers=inv)
        assert r.status_code == 422, body
        assert r.json()["errors"][0]["field"].startswith(field), r.json()
    police = stamp.client.post(
        f"{API}/alert-subscriptions",
        json={"force_area": "avon-and-somerset", "email": ["a@b.example"]},
        headers=stamp.auth("devon-and-cornwall", "Police.Analyst"),
    )
    assert police.status_code == 422


def test_email_alert_is_sent_once_through_the_mail_port(stamp):
    """An email subscriber gets one message per hit in the local outbox, with no image."""
    inv = stamp.auth("northwind", "Retailer.Investigator")
    sub = stamp.client.post(
        f"{API}/alert-subscriptions", json={"stores": ["nw-plymouth"], "email": ["lp-desk@northwind.example"]}, headers=inv
    )
    assert sub.status_code == 201, sub.text
    assert list_vehicle(stamp, "KX19 ABC").status_code == 201
    assert post_reads(stamp, [read(stamp, "KX19 ABC")]).status_code == 200
    drain(stamp)
    drain(stamp)  # a second pass finds nothing more to send
    outbox = stamp.data_dir / "outbox"
    mails = [p.read_text() for p in outbox.rglob("*.eml")] if outbox.exists() else []
    assert len(mails) == 1, mails
    assert "lp-desk@northwind.example" in mails[0] and "KX19ABC" in mails[0]
    deliveries = stamp.client.get(f"{API}/alert-subscriptions/{sub.json()['id']}/deliveries", headers=inv).json()
    assert [d["status"] for d in deliveries["items"]] == ["delivered"]


@both_backends
def test_email_lists_cannot_slip_past_the_cap_or_carry_line_breaks(stamp):
    inv = stamp.auth("northwind", "Retailer.Investigator")
    eleven = ",".join(f"lp{i}@northwind.example" for i in range(11))
    for email in (
        [eleven],  # eleven addresses in one entry, under a cap of ten entries
        ["lp1@northwind.example;lp2@northwind.example"],
        ["lp@northwind.example\r\nBcc: spy@elsewhere.example"],
        ["lp@northwind.example%0D%0ABcc:spy@elsewhere.example"],
        ["lp@northwind.example%250d%250aBcc:spy@elsewhere.example"],
        ["lp@northwind.example&#13;&#10;Bcc:spy@elsewhere.example"],
        ["Loss Prevention <lp@northwind.example>"],
        [f"lp{i}@northwind.example" for i in range(11)],
    ):
        r = stamp.client.post(f"{API}/alert-subscriptions", json={"stores": ["nw-plymouth"], "email": email}, headers=inv)
        assert r.status_code == 422, (email, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert any("email" in e["field"] for e in r.json()["errors"]), r.json()
    assert stamp.client.get(f"{API}/alert-subscriptions", headers=inv).json()["items"] == []
    ten = [f"lp{i}@northwind.example" for i in range(10)]
    assert stamp.client.post(f"{API}/alert-subscriptions", json={"stores": ["nw-plymouth"], "email": ten}, headers=inv).status_code == 201


@both_backends
def test_an_alert_email_that_can_never_be_sent_ends_failed(stamp):
    """A subscription stored before addresses were checked (a line break in an entry) ends
    its delivery failed, never pending, and sends nothing."""
    sub = subscribe(stamp, None, webhook_url=None, email=["lp@northwind.example"])
    with stamp.container.records.unit_of_work() as uow:
        doc = uow.get("alert_subscriptions", "northwind", sub["id"])
        legacy = {k: v for k, v in doc.items() if not k.startswith("_")}
        legacy["email"] = ["lp@northwind.example\r\nBcc: spy@elsewhere.example"]
        uow.replace("alert_subscriptions", "northwind", legacy, if_match=doc["_etag"])
    list_vehicle(stamp, "WR21XKD")
    post_reads(stamp, [read(stamp, "WR21XKD")])
    drain(stamp)
    [delivery] = deliveries(stamp, "northwind", "Retailer.Investigator", sub["id"])
    assert delivery["status"] == "failed" and "line break" in delivery["last_error"]
    assert stamp.container.mail.messages() == []


class FailingWebhooksForTest:
    """A webhook sender that fails every time in a way the service does not expect (a bug,
    a library error): the delivery's handler raises on every queue delivery."""

    def __init__(self):
        self.calls = 0

    def post(self, url, body, headers, *, timeout):
        self.calls += 1
        raise RuntimeError(f"unexpected failure posting to {url}")


def _run_queue_like_the_runner(stamp, logical: str, rounds: int = 40) -> None:
    """Receive and handle as the local runner does: a handler that raises gives the message
    back (abandon), and the queue dead-letters it at its delivery limit."""
    from functions import jobs

    jobs.load_all()
    queue = stamp.container.queue
    for _ in range(rounds):
        messages = queue.receive(logical, max_messages=10, visibility_seconds=30)
        if not messages:
            return
        for message in messages:
            try:
                jobs.QUEUE_HANDLERS[logical](stamp.container, message.body, message.delivery_count)
            except Exception:  # noqa: BLE001 - the runner's behaviour under test
                queue.abandon(message)
            else:
                queue.complete(message)


@both_backends
def test_a_delivery_whose_handler_fails_until_dead_lettered_ends_failed(stamp, monkeypatch):
    """Not pending for ever: on the queue's last delivery of its message, a delivery whose
    handler keeps failing is marked failed with the reason, and the message dead-lettered."""
    sub = subscribe(stamp, "http://127.0.0.1:9/alerts")
    failing = FailingWebhooksForTest()
    monkeypatch.setattr(stamp.container.anpr.alerts.deps, "webhooks", failing)
    list_vehicle(stamp, "WR21XKD")
    post_reads(stamp, [read(stamp, "WR21XKD")])
    _run_queue_like_the_runner(stamp, "anpr_alerts")
    _run_queue_like_the_runner(stamp, "webhook_deliveries")
    limit = stamp.container.settings.webhook_queue_max_deliveries
    assert failing.calls == limit
    assert len(stamp.container.queue.dead_letters("webhook_deliveries")) == 1
    [delivery] = deliveries(stamp, "northwind", "Retailer.Investigator", sub["id"])
    assert delivery["status"] == "failed"
    assert f"{limit} queue deliveries" in delivery["last_error"]
    # The subscriber reads this list: the reason names no URL or exception text.
    assert "127.0.0.1" not in delivery["last_error"] and "unexpected failure" not in delivery["last_error"]


@pytest.mark.stamp_settings(webhook_allow_private_networks=True, webhook_queue_max_deliveries=3)
def test_local_queue_dead_letters_at_the_configured_webhook_delivery_limit(stamp, monkeypatch):
    """The local queue takes the webhook queue's delivery limit from settings, as Service Bus
    does from its maxDeliveryCount: with 3, the message is dead-lettered after 3 deliveries
    and the delivery ends failed, not pending (a hard-coded 10 left it pending for ever)."""
    sub = subscribe(stamp, "http://127.0.0.1:9/alerts")
    failing = FailingWebhooksForTest()
    monkeypatch.setattr(stamp.container.anpr.alerts.deps, "webhooks", failing)
    list_vehicle(stamp, "WR21XKD")
    post_reads(stamp, [read(stamp, "WR21XKD")])
    _run_queue_like_the_runner(stamp, "anpr_alerts")
    _run_queue_like_the_runner(stamp, "webhook_deliveries")
    assert failing.calls == 3
    [dead] = stamp.container.queue.dead_letters("webhook_deliveries")
    [delivery] = deliveries(stamp, "northwind", "Retailer.Investigator", sub["id"])
    assert delivery["status"] == "failed" and "3 queue deliveries" in delivery["last_error"]
