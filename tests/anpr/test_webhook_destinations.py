"""Alert webhooks reach public addresses only (no server-side request forgery): refused at
subscription with the reason, refused again at every delivery against the address the
connection actually uses, and failures reported without the error's class or message."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.adapters.webhooks import HttpWebhookSender, non_public_kind
from tests.anpr.helpers import API, drain, list_vehicle, post_reads, read
from tools.webhook_receiver import Receiver, serve

HOOK_HOST = "hooks.northwind.example"


def subscribe(stamp, url):
    return stamp.client.post(
        f"{API}/alert-subscriptions",
        json={"stores": ["nw-plymouth"], "webhook_url": url},
        headers=stamp.auth("northwind", "Retailer.Investigator"),
    )


@pytest.fixture
def dns(monkeypatch):
    """Answers for names under test; other names resolve as usual."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/alerts",  # 127.0.0.1 as one number
        "https://0x7f.1/alerts",  # hexadecimal, shortened
        "https://127.1/alerts",
        "https://017700000001/alerts",  # octal
        "http://127.0.0.1:8787/alerts",
        "http://localhost:8787/alerts",
        "https://[::1]/alerts",
        "https://[::ffff:127.0.0.1]/alerts",
        "https://[::ffff:a9fe:a9fe]/alerts",  # 169.254.169.254 inside IPv6
        "https://[64:ff9b::a00:1]/alerts",  # NAT64 of 10.0.0.1
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://10.0.0.5/alerts",
        "https://192.168.1.1/alerts",
        "https://100.64.0.1/alerts",  # carrier-grade NAT
        "https://0.0.0.0/alerts",
        "https://[fe80::1]/alerts",
        "https://[fd00::1]/alerts",
        "https://224.0.0.1/alerts",
        f"https://{HOOK_HOST}/alerts",  # a name resolving to a private address
        "https://nothing-here.invalid/alerts",
    ],
)
def test_subscription_to_a_non_public_address_is_refused_with_the_reason(stamp, dns, url):
    dns[HOOK_HOST] = ["10.20.30.40"]
    r = subscribe(stamp, url)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["errors"][0]["field"] == "webhook_url"
    assert "public address" in problem["detail"], problem["detail"]
    # A name is not told what it resolved to (that would map internal DNS for the caller).
    assert "10.20.30.40" not in r.text


def test_a_literal_address_is_refused_naming_its_kind(stamp):
    r = subscribe(stamp, "https://[::1]/alerts")
    assert r.status_code == 422 and "::1 is a loopback address" in r.json()["detail"], r.text


def test_a_public_address_is_accepted(stamp, dns):
    dns[HOOK_HOST] = ["93.184.215.14"]
    assert subscribe(stamp, f"https://{HOOK_HOST}/alerts").status_code == 201


@pytest.mark.stamp_settings(webhook_http_hosts=[HOOK_HOST])
def test_delivery_refuses_a_name_rebound_to_a_private_address_after_subscribing(stamp, dns):
    """Public when subscribed, loopback (where a receiver listens) when delivered: the
    delivery checks the address it connects to, so nothing reaches the receiver."""
    rec = Receiver("unknown", now=lambda: stamp.clock.now().timestamp())
    server = serve(rec)
    try:
        dns[HOOK_HOST] = ["93.184.215.14"]
        sub = subscribe(stamp, f"http://{HOOK_HOST}:{server.server_address[1]}/alerts")
        assert sub.status_code == 201, sub.text
        rec.secrets = [sub.json()["secret"]]
        dns[HOOK_HOST] = ["127.0.0.1"]
        list_vehicle(stamp, "WR21XKD")
        post_reads(stamp, [read(stamp, "WR21XKD")])
        drain(stamp, rounds=1)
    finally:
        server.shutdown()
    assert rec.accepted == [] and rec.rejected == []
    [delivery] = stamp.client.get(
        f"{API}/alert-subscriptions/{sub.json()['id']}/deliveries", headers=stamp.auth("northwind", "Retailer.Investigator")
    ).json()["items"]
    assert delivery["status"] == "retrying" and delivery["last_error"] == "refused: not a public address"


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append({"host": self.headers["Host"]})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        return


@pytest.fixture
def recorder():
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_the_connection_goes_to_the_checked_address_with_the_original_host(recorder):
    """The name is resolved once, by the check, and the socket goes to that address: the
    name here resolves nowhere else, so reaching the server proves the pinning."""
    calls = []

    def resolve(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    port = recorder.server_address[1]
    sender = HttpWebhookSender(allow_private_networks=True, resolve=resolve)
    try:
        result = sender.post(f"http://{HOOK_HOST}:{port}/alerts", b"{}", {}, timeout=5)
    finally:
        sender.close()
    assert result.status == 204 and result.delivered
    assert calls == [HOOK_HOST]
    assert _Recorder.seen == [{"host": f"{HOOK_HOST}:{port}"}]


def test_refused_when_private_networks_are_not_allowed(recorder):
    sender = HttpWebhookSender(resolve=lambda host, port: ["127.0.0.1"])
    result = sender.post(f"http://{HOOK_HOST}:{recorder.server_address[1]}/alerts", b"{}", {}, timeout=5)
    assert (result.status, result.error) == (0, "refused: not a public address")
    assert _Recorder.seen == []
    # One public and one private answer: refused as a whole.
    mixed = HttpWebhookSender(resolve=lambda host, port: ["93.184.215.14", "127.0.0.1"])
    assert mixed.destination_problem(f"https://{HOOK_HOST}/") == "the host does not resolve to a public address"


def _self_signed(tmp_path, name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_to_the_checked_address_uses_the_host_for_sni_and_the_certificate(tmp_path, recorder):
    cert, key = _self_signed(tmp_path, HOOK_HOST)
    server_names = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    recorder.socket = context.wrap_socket(recorder.socket, server_side=True)
    trust = ssl.create_default_context(cafile=str(cert))
    sender = HttpWebhookSender(allow_private_networks=True, resolve=lambda host, port: ["127.0.0.1"], verify=trust)
    try:
        result = sender.post(f"https://{HOOK_HOST}:{recorder.server_address[1]}/alerts", b"{}", {}, timeout=5)
    finally:
        sender.close()
    assert result.delivered, result
    assert server_names == [HOOK_HOST]
    assert _Recorder.seen == [{"host": f"{HOOK_HOST}:{recorder.server_address[1]}"}]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("127.0.0.1", "loopback address"),
        ("::ffff:10.0.0.1", "private address (IPv4 inside IPv6)"),
        ("2002:7f00:1::1", "loopback address (IPv4 inside IPv6)"),  # 6to4 of 127.0.0.1
        ("64:ff9b::808:808", None),  # NAT64 of a public address
        ("239.1.1.1", "multicast address"),
        ("fe80::1%eth0", "scoped (zone) address"),
    ],
)
def test_address_kinds(address, kind):
    assert non_public_kind(address) == kind
