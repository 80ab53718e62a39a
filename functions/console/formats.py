"""How console pages write stored values for people: times in the region's wall clock,
money as written, codes in plain words. One set of filters for every page, the same
wording the D2P email uses."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from shared.domain.d2p_email import local_time as email_local_time
from shared.domain.d2p_email import region_time_zone
from shared.domain.d2p_rules import money_words
from shared.domain.timestamps import to_iso


def zone_of(where: str | tzinfo) -> tzinfo:
    """A region's time zone (`"uk"` → Europe/London), or the zone itself."""
    return region_time_zone(where) if isinstance(where, str) else where


def local_time(value: str | datetime | None, where: str | tzinfo = "uk") -> str:
    """A stored instant as people read it: "Sat 28 Nov 2026, 14:05 GMT"; empty when absent."""
    if not value:
        return ""
    return email_local_time(value if isinstance(value, str) else to_iso(value), zone_of(where))


def money(value: dict[str, Any] | None) -> str:
    """An amount in minor units as written: "£28.99", "28.99 SEK"."""
    if not value:
        return ""
    return money_words(int(value.get("amount_minor", 0)), str(value.get("currency", "")))


def words(value: str | None) -> str:
    """A stored code (`shop_theft`) in plain words ("Shop theft")."""
    return str(value or "").replace("_", " ").capitalize()


FILTERS = {"local_time": local_time, "money": money, "words": words}
