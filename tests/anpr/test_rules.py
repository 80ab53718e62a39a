"""Pure ANPR rules: plate normalisation, age tiers, webhook signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.anpr import (
    SignatureError,
    Tier,
    read_expiry,
    search_tier,
    sign,
    verify,
)
from shared.domain.incidents import PlateError, normalise_plate


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
