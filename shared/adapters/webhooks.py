"""Webhook delivery over HTTP with httpx: the same adapter locally and in Azure.

The service signs and decides retries; this only sends one POST and reports what came
back. Redirects are not followed (a signed alert goes to the address subscribed, nowhere
else) and the receiver's answer body is never read beyond its status.

Destinations are subscriber-supplied, so they must not reach the stamp's own networks
(server-side request forgery). Every connection resolves the host itself, checks every
address it got, and connects to the checked address only: the name is never resolved a
second time between the check and the connection (DNS rebinding cannot swap it). TLS
still uses the URL's host for SNI and certificate checks, and the Host header is the
URL's. Numeric spellings (`2130706433`, `0x7f.1`, `127.1`) and IPv6 forms (`[::1]`,
`[::ffff:127.0.0.1]`, NAT64, 6to4) are resolved and checked like any other host.
Environment proxies are not used: a proxy would resolve the name out of our sight.

What a failed delivery reports is deliberately coarse ("connection failed", "timed out",
"HTTP 500"): the deliveries list is shown to the subscriber, and the error class or
message of a refused or failed connection would tell them about networks they cannot see.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import httpcore
import httpx

from shared.ports import WebhookResult

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (socket.getaddrinfo by default; tests replace it).
Resolver = Callable[[str, int], list[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

REFUSED = "refused: not a public address"


class RefusedDestination(Exception):
    """The destination resolves to an address alerts may not go to."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def non_public_kind(address: str) -> str | None:
    """Why `address` is not a public unicast address (e.g. "loopback"), or None if it is."""
    try:
        ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if "%" in address:
            return "scoped (zone) address"
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip in _NAT64_LOCAL or ip.teredo is not None:
            return "translated address"
        if embedded is not None:
            kind = non_public_kind(str(embedded))
            return f"{kind} (IPv4 inside IPv6)" if kind else None
    for kind, hit in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if hit:
            return f"{kind} address"
    if not ip.is_global:
        return "non-public address"
    return None


def checked_addresses(host: str, port: int, *, allow_private: bool, resolve: Resolver = system_resolver) -> list[str]:
    """Resolve `host` and return its addresses if every one may be reached.

    Raises RefusedDestination naming why not. All addresses must pass, not just one: a
    name that answers with a public and a private address is refused."""
    literal = host.strip("[]")
    try:
        addresses = resolve(literal, port)
    except (OSError, UnicodeError) as exc:
        raise RefusedDestination("the host does not resolve to a public address") from exc
    if not addresses:
        raise RefusedDestination("the host does not resolve to a public address")
    if allow_private:
        return addresses
    kinds = [kind for kind in map(non_public_kind, addresses) if kind]
    if kinds:
        if _is_ip_literal(literal):
            raise RefusedDestination(f"{literal} is a {kinds[0]}; alerts go only to public addresses")
        # For a name, do not say what it resolved to: that would map internal DNS for the caller.
        raise RefusedDestination("the host does not resolve to a public address")
    return addresses


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the address it checked, never to a second resolution of the name."""

    def __init__(self, *, allow_private: bool, resolve: Resolver):
        self.allow_private = allow_private
        self.resolve = resolve

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = checked_addresses(host, port, allow_private=self.allow_private, resolve=self.resolve)
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout=timeout, local_address=local_address, socket_options=socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError("no address")


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose connections go to checked addresses.

    httpcore makes TLS with the URL's host as server name, so SNI and certificate checks
    are the host's while the socket goes to the address that was checked."""

    def __init__(self, *, allow_private: bool, resolve: Resolver = system_resolver, verify: ssl.SSLContext | bool = True):
        super().__init__(verify=verify, trust_env=False)
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_PinnedBackend(allow_private=allow_private, resolve=resolve),
        )


class HttpWebhookSender:
    """Thread-safe: one pooled client shared by the delivery workers.

    `allow_private_networks` lets alerts reach loopback and private addresses (a local
    receiver under `make run`, tests); off by default and in Azure."""

    def __init__(
        self,
        *,
        allow_private_networks: bool = False,
        user_agent: str = "Vigil-Webhooks/1",
        resolve: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ):
        self._user_agent = user_agent
        self._allow_private = allow_private_networks
        self._resolve = resolve
        self._verify = verify
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def destination_problem(self, url: str) -> str | None:
        """Why alerts may not go to `url`'s host (checked when subscribing), or None."""
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return "the port is not valid"
        if not parts.hostname:
            return "the URL has no host"
        try:
            checked_addresses(parts.hostname, port, allow_private=self._allow_private, resolve=self._resolve)
        except RefusedDestination as exc:
            return str(exc)
        return None

    def _http(self) -> httpx.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(
                        transport=PinnedTransport(allow_private=self._allow_private, resolve=self._resolve, verify=self._verify),
                        follow_redirects=False,
                        trust_env=False,
                        headers={"User-Agent": self._user_agent},
                    )
        return self._client

    def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> WebhookResult:
        try:
            response = self._http().post(url, content=body, headers={"Content-Type": "application/json", **headers}, timeout=timeout)
        except RefusedDestination:
            return WebhookResult(status=0, error=REFUSED)
        except httpx.TimeoutException:
            return WebhookResult(status=0, error="timed out")
        except (httpx.HTTPError, OSError, ValueError):
            return WebhookResult(status=0, error="connection failed")
        return WebhookResult(status=response.status_code, error=None if response.is_success else f"HTTP {response.status_code}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
