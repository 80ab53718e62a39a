"""Network ranges: the addresses an organisation's staff, and separately its devices and
service principals, may reach Vigil from. Pure domain: parsing, normalising, matching."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shared.domain.errors import Forbidden

# A force's estate is a handful of egress ranges; a list this long is a mistake, and every
# request of the organisation is matched against it.
MAX_RANGES = 100

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Caller(StrEnum):
    """Which list a caller is held to: people, or software acting as itself (camera systems,
    service principals with app-only tokens)."""

    STAFF = "staff"
    DEVICES = "devices"


def normalise_range(text: str) -> str:
    """One CIDR range in its canonical form (`10.1.2.0/24`, `2001:db8::/32`); a bare address
    is a range of one. ValueError naming what is wrong otherwise.

    Host bits must be zero: `10.1.2.3/24` is refused rather than widened, since the admin
    may have meant the one address."""
    text = text.strip()
    if not text:
        raise ValueError("an empty range")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        reason = str(exc)
        if "has host bits set" in reason:
            base = ipaddress.ip_network(text, strict=False)
            raise ValueError(f"{text} has host bits set: write {base} for the whole range, or the address alone for one address") from None
        raise ValueError(f"{text} is not an IPv4 or IPv6 range in CIDR form, e.g. 192.0.2.0/24 or 2001:db8::/48") from None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None:
        # Matching is done on plain IPv4 for such callers, so an IPv4-mapped range would never match.
        raise ValueError(f"{text} is an IPv4-mapped IPv6 range: write it as the IPv4 range")
    return str(network)


def _ordered(values: list[str]) -> list[str]:
    """Normalised ranges without repeats, IPv4 first, in address order: a stored list reads
    the same however it was typed, so versions compare equal when nothing changed."""
    return sorted(dict.fromkeys(values), key=_sort_key)


def _sort_key(text: str) -> tuple[int, int, int]:
    network = ipaddress.ip_network(text)
    return (network.version, int(network.network_address), network.prefixlen)


# One range as sent: bounded, then normalised (or refused naming its index in the list).
RangeText = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(normalise_range)]


class NetworkRangesIn(BaseModel):
    """The whole of an organisation's ranges: each list replaces the one stored. An empty
    list restricts nothing."""

    model_config = ConfigDict(
        extra="forbid",
        # Loopback kept in the example so a local stamp tried with it stays reachable.
        json_schema_extra={
            "examples": [
                {"staff": ["127.0.0.0/8", "::1/128", "192.0.2.0/24", "2001:db8:10::/48"], "devices": ["127.0.0.0/8", "198.51.100.16/28"]}
            ]
        },
    )

    staff: list[RangeText] = Field(
        max_length=MAX_RANGES,
        description="CIDR ranges (IPv4 or IPv6) people of the organisation may use, API and console. Empty: anywhere",
    )
    devices: list[RangeText] = Field(
        default_factory=list,
        max_length=MAX_RANGES,
        description="CIDR ranges camera systems and service principals (app-only tokens) may use. Empty: anywhere",
    )

    @field_validator("staff", "devices")
    @classmethod
    def _ranges(cls, values: list[str]) -> list[str]:
        return _ordered(values)


class NetworkRanges(BaseModel):
    """An organisation's stored ranges ("current" and each version)."""

    model_config = ConfigDict(extra="ignore")

    organisation_id: str
    version: int
    staff: list[str] = Field(default_factory=list)
    devices: list[str] = Field(default_factory=list)
    updated_at: str | None = None
    updated_by: str | None = None

    def as_version(self) -> dict[str, Any]:
        """The stored copy of this version (kept beside "current" for the history)."""
        return {**self.model_dump(), "id": f"v{self.version:06d}"}


class RangeMatcher:
    """Parsed ranges, ready to match addresses against (built once per cache fill).

    Kept as sets of network prefixes per (IP version, prefix length): a check costs one set
    look-up per distinct prefix length, not one comparison per range, so 100 ranges cost
    about what 3 do."""

    def __init__(self, ranges: list[str]):
        self.ranges = list(ranges)
        self._prefixes: dict[int, dict[int, set[int]]] = {4: {}, 6: {}}
        for text in ranges:
            network = ipaddress.ip_network(text)
            shift = network.max_prefixlen - network.prefixlen
            self._prefixes[network.version].setdefault(network.prefixlen, set()).add(int(network.network_address) >> shift)
        self._bits = {4: 32, 6: 128}

    def admits(self, address: str | None) -> bool:
        """True when nothing is restricted, or `address` falls in one of the ranges. An
        address that cannot be read is outside every range."""
        if not self.ranges:
            return True
        parsed = parse_address(address)
        if parsed is None:
            return False
        value, bits = int(parsed), self._bits[parsed.version]
        return any((value >> (bits - length)) in prefixes for length, prefixes in self._prefixes[parsed.version].items())


# Callers come back from the same few addresses: parsing each once per process keeps the
# check a look-up (bounded, so many distinct addresses cost bounded memory).
@lru_cache(maxsize=4096)
def parse_address(text: str | None) -> Address | None:
    """A client address as sent by the trusted side (a socket peer, or the proxy's header):
    IPv4-mapped IPv6 is read as the IPv4 it carries, a zone id and a port dropped. None when
    unreadable."""
    if not text:
        return None
    text = text.strip().split("%", 1)[0]
    # A proxy may append the port: "192.0.2.7:50123", "[2001:db8::7]:50123".
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1 and "." in text:
        text = text.split(":", 1)[0]
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


class OutsideNetwork(Forbidden):
    """A request of an organisation's user from an address outside its ranges."""

    status, slug, title = 403, "outside-network", "Outside your organisation's network"


class UntrustedProxy(Forbidden):
    """A request that did not come through the stamp's trusted proxy, or whose address it did not give."""

    status, slug, title = 403, "untrusted-proxy", "Not through the stamp's front door"
