"""The SendGrid event webhook check on its own: which signatures, keys and timestamps it
takes, and the reason it gives for each refusal (the problem detail the caller sees)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.adapters.azure.sendgrid_events import SendGridEventVerifier
from shared.domain.errors import Unauthorized

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TS = str(int(NOW.timestamp()))
BODY = b'[{"event": "delivered", "dispatch_id": "d1", "owner_org": "northwind"}]'
KEY = ec.generate_private_key(ec.SECP256R1())


def der(key) -> str:
    return base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()


def pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign(body: bytes = BODY, ts: str = TS, key=KEY) -> str:
    return base64.b64encode(key.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def verify(body=BODY, signature=None, timestamp=TS, *, public_key=None, max_age=300):
    SendGridEventVerifier().verify(
        body,
        sign() if signature is None else signature,
        timestamp,
        public_key=der(KEY) if public_key is None else public_key,
        now=NOW,
        max_age_seconds=max_age,
    )


def refused(**kw) -> str:
    with pytest.raises(Unauthorized) as caught:
        verify(**kw)
    return caught.value.detail


def test_a_body_signed_with_the_key_is_taken_whether_the_key_is_base64_der_or_pem():
    verify()
    verify(public_key=pem(KEY))


@pytest.mark.parametrize("skew", [-300, 60])
def test_a_timestamp_up_to_the_max_age_old_or_a_minute_ahead_is_taken(skew):
    ts = str(int(NOW.timestamp()) + skew)
    verify(signature=sign(ts=ts), timestamp=ts)


@pytest.mark.parametrize("ahead", [61, 300, 10**15])
def test_a_timestamp_ahead_of_now_beyond_a_minute_is_refused(ahead):
    # A batch stamped ahead would stay replayable for longer than the signature window.
    ts = str(int(NOW.timestamp()) + ahead)
    assert refused(signature=sign(ts=ts), timestamp=ts) == "The webhook timestamp is more than 60 s ahead of now."


def test_refusals_name_their_reason():
    assert refused(public_key="") == "Event webhooks are not accepted: no verification key is configured."
    assert refused(signature="") == "The event webhook is not signed."
    assert refused(timestamp=None) == "The event webhook is not signed."
    assert refused(timestamp="soon") == "The webhook timestamp is not a number."
    stale = str(int(NOW.timestamp()) - 301)
    assert refused(signature=sign(ts=stale), timestamp=stale) == "The webhook timestamp is more than 300 s from now."
    assert refused(max_age=60, signature=sign(ts=stale), timestamp=stale) == "The webhook timestamp is more than 60 s from now."


@pytest.mark.parametrize(
    "case",
    [
        {"body": BODY.replace(b"delivered", b"bounce")},  # tampered body
        {"signature": sign(key=ec.generate_private_key(ec.SECP256R1()))},  # another key
        {"signature": sign(ts=str(int(TS) - 1))},  # signed for another timestamp
        {"signature": sign() + "!"},  # not strictly base64
        {"signature": "bm90IGEgc2lnbmF0dXJl"},  # base64, but not a signature
        {"public_key": "not a key"},
        {"public_key": der(rsa.generate_private_key(public_exponent=65537, key_size=2048))},  # not an EC key
        {"body": b"\xff\xfe not utf-8", "signature": sign(b"\xff\xfe not utf-8")},  # not what SendGrid signs
    ],
)
def test_anything_but_the_signed_body_does_not_verify(case):
    assert refused(**case) == "The webhook signature does not verify."
