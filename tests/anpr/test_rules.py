"""Pure ANPR rules: plate normalisation, age tiers, webhook signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.anpr import (
    SignatureError,
    Tier,
    alert_recipients,
    read_expiry,
    recipient_problem,
    search_tier,
    sign,
    verify,
)
from shared.domain.plates import PlateError, normalise_plate


@pytest.mark.parametrize("raw", ["ab12 cde", "AB-12-CDE", "AB12CDE", " ab.12.cde ", "ＡＢ１２ＣＤＥ", "АВ12 СDЕ", "ab_12/cde"])
def test_plate_variants_normalise_to_one_plate(raw):
    # Last-but-one: Cyrillic А, В, С, Е typed or read in place of the Latin letters.
    assert normalise_plate(raw) == "AB12CDE"


@pytest.mark.parametrize("raw", ["AB12 CD€", "AB12✓CDE", "", "   ", "ABCDEFGHIJK1", "AB12 CDΣ"])
def test_other_characters_are_refused(raw):
    with pytest.raises(PlateError):
        normalise_plate(raw)


def test_latin_lookalikes_stay_distinct():
    # O and 0, I and 1 are different plates: no folding inside Latin and digits.
    assert normalise_plate("O1") != normalise_plate("0I")


def test_search_tier_by_data_age():
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert search_tier(now - timedelta(days=90), now, 90) == Tier.ORDINARY
    assert search_tier(now - timedelta(days=90, seconds=1), now, 90) == Tier.AUTHORISED


def test_expiry_from_birth():
    captured = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert read_expiry(captured, 30) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_signature_round_trip_and_failures():
    body = b'{"type":"anpr.hit"}'
    sig = sign("whsec_test", "1700000000", body)
    assert sig.startswith("v1=")
    verify("whsec_test", "1700000000", sig, body, now=1700000010)
    verify("whsec_test", "1700000000", "v1=old," + sig, body, now=1700000010)  # rotation: any match passes
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec_test", "1700000000", sig, body + b" ", now=1700000010)
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec_other", "1700000000", sig, body, now=1700000010)
    with pytest.raises(SignatureError, match="timestamp"):
        verify("whsec_test", "1700000000", sig, body, now=1700000000 + 301)
    with pytest.raises(SignatureError, match="does not match"):
        verify("whsec_test", "1700000001", sig, body, now=1700000001)  # timestamp is signed too


@pytest.mark.parametrize("address", ["lp@northwind.example", "first.last+alerts@cr.devon-cornwall.police.example"])
def test_plain_addresses_are_recipients(address):
    assert recipient_problem(address) is None


@pytest.mark.parametrize(
    "entry, why",
    [
        ("a@x.example, b@y.example", "holds"),
        ("a@x.example;b@y.example", "holds"),
        ("a@x.example\nBcc: c@z.example", "line break"),
        ("a@x.example%0aBcc:c@z.example", "line break"),
        ("a@x.example%250D%250ABcc:c@z.example", "line break"),
        ("a@x.example=0D=0ABcc:c@z.example", "line break"),
        ("a@x.example&#x0a;Bcc:c@z.example", "line break"),
        ("a@x.example\u2028", "line break"),
        ("=?utf-8?q?a=0Ab?=@x.example", "line break"),
        ("Loss Prevention <lp@x.example>", "plain"),
        ("lp@localhost", "plain"),
    ],
)
def test_lists_names_and_line_breaks_are_not_recipients(entry, why):
    assert why in (recipient_problem(entry) or "")


def test_recipients_are_capped_after_parsing_and_deduplicated():
    assert alert_recipients(["A@x.example", "a@x.example"]) == ["A@x.example"]
    with pytest.raises(ValueError, match="at most 10"):
        alert_recipients([f"lp{i}@x.example" for i in range(11)])
