"""SendGrid: the real `sendgrid` library against a local stub HTTP server, and the signed
event webhook (ECDSA P-256) over HTTP."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.adapters.azure.sendgrid_mail import SendGridMail
from shared.domain.mail import Email
from shared.ports import PermanentMailError, TransientMailError
from tests.d2p.helpers import drain, eligible_report


class StubSendGrid:
    """A local HTTP server answering POST /v3/mail/send like SendGrid (test stand-in)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        self.delay = 0.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                stub.requests.append({"path": self.path, "auth": self.headers.get("authorization"), "json": json.loads(body)})
                if stub.delay:
                    time.sleep(stub.delay)
                status, payload = stub.answers.pop(0) if stub.answers else (202, {})
                data = json.dumps(payload).encode() if payload else b""
                self.send_response(status)
                self.send_header("X-Message-Id", f"sg-{len(stub.requests)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sendgrid_stub():
    stub = StubSendGrid()
    yield stub
    stub.close()


def message(to="control-room@devon-cornwall.police.example", reply_to=None):
    return Email(
        to=to,
        reply_to=reply_to,
        sender="d2p@vigil.example.net",
        subject="[Vigil D2P] test",
        text="plain",
        html="<p>html</p>",
        message_id="i1.devon-and-cornwall@vigil.d2p",
        headers={"X-Vigil-Dispatch": "i1.devon-and-cornwall"},
        custom_args={"dispatch_id": "i1.devon-and-cornwall", "owner_org": "northwind"},
    )


def test_sendgrid_real_library_against_stub_server_sends_text_html_and_custom_args(sendgrid_stub):
    mail = SendGridMail("SG.test-key", host=sendgrid_stub.url, timeout_seconds=2)
    assert mail.send(message()) == "sg-1"
    req = sendgrid_stub.requests[0]
    assert req["path"] == "/v3/mail/send" and req["auth"] == "Bearer SG.test-key"
    body = req["json"]
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["personalizations"][0]["to"] == [{"email": "control-room@devon-cornwall.police.example"}]
    assert body["custom_args"] == {"dispatch_id": "i1.devon-and-cornwall", "owner_org": "northwind"}
    assert body["headers"]["Message-ID"] == "<i1.devon-and-cornwall@vigil.d2p>"
    assert "attachments" not in body and "reply_to" not in body  # no store contact known: replies go nowhere unexpected


def test_sendgrid_carries_the_store_contact_as_reply_to(sendgrid_stub):
    SendGridMail("SG.k", host=sendgrid_stub.url).send(message(reply_to="plymouth.security@northwind.example"))
    body = sendgrid_stub.requests[0]["json"]
    assert body["reply_to"] == {"email": "plymouth.security@northwind.example"}
    assert body["from"] == {"email": "d2p@vigil.example.net"}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_sendgrid_real_library_against_stub_server_transient_statuses(sendgrid_stub, status):
    sendgrid_stub.answers.append((status, {"errors": [{"message": "try later"}]}))
    with pytest.raises(TransientMailError):
        SendGridMail("SG.k", host=sendgrid_stub.url).send(message())


def test_sendgrid_real_library_against_stub_server_invalid_address_is_permanent(sendgrid_stub):
    sendgrid_stub.answers.append(
        (400, {"errors": [{"message": "Does not contain a valid address.", "field": "personalizations.0.to.0.email"}]})
    )
    with pytest.raises(PermanentMailError, match="valid address"):
        SendGridMail("SG.k", host=sendgrid_stub.url).send(message())


def test_sendgrid_real_library_against_stub_server_timeout_and_unreachable_are_transient(sendgrid_stub):
    sendgrid_stub.delay = 1.0
    with pytest.raises(TransientMailError):
        SendGridMail("SG.k", host=sendgrid_stub.url, timeout_seconds=0.2).send(message())
    with pytest.raises(TransientMailError):
        SendGridMail("SG.k", host="http://127.0.0.1:9", timeout_seconds=0.5).send(message())


def test_dispatch_through_sendgrid_stub_end_to_end(stamp, sendgrid_stub):
    stamp.container.d2p.deps.mail = SendGridMail("SG.k", host=sendgrid_stub.url, timeout_seconds=2)
    sendgrid_stub.answers.append((503, {}))
    incident = eligible_report(stamp)
    stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert drain(stamp) == ["DispatchRetry", "ok"]
    assert len(sendgrid_stub.requests) == 2
    body = sendgrid_stub.requests[1]["json"]
    assert incident["reference"] in body["subject"] and body["subject"].startswith("PRIORITY (violence) [Vigil D2P] ")
    assert body["reply_to"] == {"email": "plymouth.security@northwind.example"}
    text, html = (c["value"] for c in body["content"])
    case = f"http://127.0.0.1:7071/cases/{incident['id']}"
    assert f"Open the case: {case}\n" in text and f"Acknowledge: {case}/acknowledge\n" in text
    assert f'<a href="{case}">Open the case</a>' in html and f'href="{case}/evidence/' in html
    assert "/api/v1" not in text + html and "offender" not in text.lower()


# ---- signed event webhook --------------------------------------------------------


@pytest.fixture
def signing_key(stamp):
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    stamp.container.d2p.deps.webhook_public_key = base64.b64encode(der).decode()
    return key


def signed(key, payload: bytes, ts: int) -> dict[str, str]:
    sig = key.sign(str(ts).encode() + payload, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(ts),
        "Content-Type": "application/json",
    }


def test_webhook_records_delivery_and_rejects_bad_unsigned_or_stale(stamp, signing_key):
    incident = eligible_report(stamp)
    dispatch = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator")).json()
    drain(stamp)
    now = int(stamp.clock.now().timestamp())
    events = [
        {
            "event": "bounce",
            "email": "x@y",
            "timestamp": now,
            "reason": "550 mailbox full",
            "sg_event_id": "Ym91bmNlLTAtMQ",
            "dispatch_id": dispatch["id"],
            "owner_org": "northwind",
        },
        {"event": "open", "dispatch_id": dispatch["id"], "owner_org": "northwind"},
    ]
    payload = json.dumps(events).encode()
    hook = "/api/v1/webhooks/sendgrid"
    assert stamp.client.post(hook, content=payload, headers={"Content-Type": "application/json"}).status_code == 401
    other = ec.generate_private_key(ec.SECP256R1())
    assert stamp.client.post(hook, content=payload, headers=signed(other, payload, now)).status_code == 401
    assert stamp.client.post(hook, content=payload, headers=signed(signing_key, payload, now - 3600)).status_code == 401
    tampered = payload.replace(b"bounce", b"delivered")
    assert stamp.client.post(hook, content=tampered, headers=signed(signing_key, payload, now)).status_code == 401
    ok = stamp.client.post(hook, content=payload, headers=signed(signing_key, payload, now))
    assert ok.status_code == 200 and ok.json() == {"recorded": 1, "ignored": 1, "duplicates": 0}
    seen = stamp.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator")).json()[
        "dispatches"
    ][0]
    assert seen["delivery"]["state"] == "bounced" and seen["delivery"]["reason"] == "550 mailbox full"
    # Signed but not JSON: the same malformed-json problem as any other route.
    garbage = b"not json at all"
    bad = stamp.client.post(hook, content=garbage, headers=signed(signing_key, garbage, now))
    assert bad.status_code == 400 and bad.json()["type"].endswith("/malformed-json")


def _webhook_dispatch(stamp):
    incident = eligible_report(stamp)
    dispatch = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator")).json()
    drain(stamp)
    return incident, dispatch


def _seen(stamp, incident) -> dict:
    detail = stamp.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
    return detail.json()["dispatches"][0]


def _event(dispatch, n: int, ts: int, kind: str = "deferred") -> dict:
    return {"event": kind, "timestamp": ts, "sg_event_id": f"ev-{n}", "dispatch_id": dispatch["id"], "owner_org": "northwind"}


def test_a_replayed_signed_batch_records_nothing_again(stamp, signing_key):
    incident, dispatch = _webhook_dispatch(stamp)
    now = int(stamp.clock.now().timestamp())
    payload = json.dumps([_event(dispatch, 1, now - 5, "delivered")]).encode()
    hook = "/api/v1/webhooks/sendgrid"
    first = stamp.client.post(hook, content=payload, headers=signed(signing_key, payload, now))
    assert first.json() == {"recorded": 1, "ignored": 0, "duplicates": 0}
    before = _seen(stamp, incident)
    stamp.clock.advance(seconds=120)  # still inside the 300 s signature window
    again = stamp.client.post(hook, content=payload, headers=signed(signing_key, payload, now))
    assert again.status_code == 200 and again.json() == {"recorded": 0, "ignored": 0, "duplicates": 1}
    after = _seen(stamp, incident)
    assert after["history"] == before["history"] and after["deliveries"] == before["deliveries"]
    assert [d["state"] for d in after["deliveries"]] == ["delivered"]


def test_sixty_delivery_events_leave_the_status_history_whole(stamp, signing_key):
    incident, dispatch = _webhook_dispatch(stamp)
    history = _seen(stamp, incident)["history"]
    assert [h["status"] for h in history][:1] == ["queued"] and history[-1]["status"] == "sent"
    now = int(stamp.clock.now().timestamp())
    payload = json.dumps([_event(dispatch, n, now - 60 + n) for n in range(60)]).encode()
    ok = stamp.client.post("/api/v1/webhooks/sendgrid", content=payload, headers=signed(signing_key, payload, now))
    assert ok.json()["recorded"] == 60
    seen = _seen(stamp, incident)
    assert seen["history"] == history
    assert len(seen["deliveries"]) == 50 and seen["delivery"]["at"] == seen["deliveries"][-1]["at"]


@pytest.mark.parametrize("when", [3600, 10**13, -(10**13), "soon", 1.5])
def test_an_event_time_in_the_future_or_absurd_is_refused_and_nothing_recorded(stamp, signing_key, when):
    incident, dispatch = _webhook_dispatch(stamp)
    now = int(stamp.clock.now().timestamp())
    ts = now + when if isinstance(when, int) else when
    payload = json.dumps([_event(dispatch, 1, now, "delivered"), _event(dispatch, 2, ts, "bounce")]).encode()
    r = stamp.client.post("/api/v1/webhooks/sendgrid", content=payload, headers=signed(signing_key, payload, now))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["[1].timestamp"]
    seen = _seen(stamp, incident)
    assert seen["delivery"] is None and seen["deliveries"] == []
