"""Safe fetching of image URLs given by clients or found in shops.

- http and https only; at most MAX_REDIRECTS redirects, each one checked again.
- Every address the host name resolves to is checked; loopback, private, link-local, multicast, reserved and
  cloud-metadata addresses are refused unless the host is in the allow list (the devstore's CDN on loopback).
  The connection goes to an address that passed the check, so a DNS answer that changes between the check
  and the connect (rebinding) cannot slip through.
- The body is streamed with a byte cap, and the whole fetch has a deadline.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}


class FetchError(Exception):
    """The URL could not be fetched; `code` is stable, `retryable` says whether trying later may help."""

    def __init__(self, message: str, *, code: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class FetchPolicy:
    """Parameters:
    allow_hosts: host or host:port entries let through even when they resolve to private addresses.
    max_bytes: the largest body accepted.
    timeout_s: the deadline for the whole fetch, redirects included.
    """

    allow_hosts: frozenset[str] = frozenset()
    max_bytes: int = 10 * 1024 * 1024
    timeout_s: float = 20.0

    @classmethod
    def from_settings(cls, settings: Any) -> FetchPolicy:
        hosts = frozenset(h.strip().lower() for h in settings.fetch_allow_hosts.split(",") if h.strip())
        return cls(allow_hosts=hosts, max_bytes=settings.fetch_max_bytes, timeout_s=settings.fetch_timeout_s)

    def allows(self, host: str, port: int) -> bool:
        host = host.lower().strip("[]")
        return host in self.allow_hosts or f"{host}:{port}" in self.allow_hosts


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or str(ip) == "169.254.169.254"
        or ip in ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
    )


_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def literal_address(host: str) -> str | None:
    """The address `host` means when it is written as an IP literal, or None for a host name.

    IPv4 is read the way inet_aton(3) reads it, as the OS resolver does: octal (`0177.0.0.1`), zero-padded
    (`127.000.000.001`), hex (`0x7f.1`), short (`127.1`) and one-number (`2130706433`) spellings all mean
    127.0.0.1. A host whose last label is numeric but which is no valid address (`08.0.0.1`, `1.2.3.4.5`)
    is refused rather than guessed at: resolvers and HTTP clients disagree on what it means.
    Raises FetchError."""
    bare = host.lower().strip("[]")
    if ":" in bare:
        try:
            return str(ipaddress.IPv6Address(bare.split("%", 1)[0]))
        except ValueError:
            raise FetchError(f"{host[:200]!r} is not a valid IPv6 address", code="invalid_url") from None
    bare = bare.removesuffix(".")
    if not _NUMERIC_LABEL.match(bare.rsplit(".", 1)[-1]):
        return None  # a host name: resolved (and every address checked) at fetch time
    try:
        return socket.inet_ntoa(socket.inet_aton(bare))
    except OSError:
        raise FetchError(f"{host[:200]!r} is not a valid IPv4 address", code="invalid_url") from None


def check_url_early(url: str, policy: FetchPolicy) -> None:
    """Refuse at once (no DNS) what can never be fetched: another scheme than http(s), no host, a cloud
    metadata host name, or a literal non-public IP address not in the allow list. Host names are checked
    again, with every resolved address, when the URL is fetched. Raises FetchError."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise FetchError(f"{url[:200]!r} is not a valid URL", code="invalid_url") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise FetchError(f"{url[:200]!r} is not an http(s) URL", code="invalid_url")
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchError(f"{url[:200]!r} has no host", code="invalid_url")
    if policy.allows(host, port):
        return
    if host in _METADATA_HOSTS:
        raise FetchError(f"refusing to fetch from {host}: a cloud metadata host", code="blocked_address")
    literal = literal_address(host)
    if literal is None:
        return  # a host name: resolved and checked at fetch time
    if not address_is_public(literal):
        raise FetchError(
            f"refusing to fetch from {host}: it means {literal}, which is not a public address",
            code="blocked_address",
        )


def resolve_checked(host: str, port: int, policy: FetchPolicy) -> list[str]:
    """The host's addresses, after refusing any that are not public (unless the host is allowed)."""
    bare = host.strip("[]")
    if bare.lower() in _METADATA_HOSTS and not policy.allows(bare, port):
        raise FetchError(f"refusing to fetch from {host}: a cloud metadata host", code="blocked_address")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise FetchError(f"cannot resolve {host}: {err.strerror}", code="dns_error", retryable=True) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FetchError(f"{host} has no address", code="dns_error", retryable=True)
    if not policy.allows(bare, port):
        for address in addresses:
            if not address_is_public(address):
                raise FetchError(
                    f"refusing to fetch from {host}: it resolves to the non-public address {address}",
                    code="blocked_address",
                )
    return addresses


class _CheckedBackend(httpcore.NetworkBackend):
    """Connects only to addresses that passed `resolve_checked`, whatever the URL's host name."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in resolve_checked(host, port, self._policy):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
        raise httpcore.ConnectError(str(last) if last else f"cannot connect to {host}:{port}")

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:  # noqa: ARG002
        raise httpcore.ConnectError("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _client(policy: FetchPolicy) -> httpx.Client:
    transport = httpx.HTTPTransport(retries=0)
    # httpx does not expose the network backend; the pool it builds is replaced with one that uses ours.
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001
        ssl_context=httpx.create_ssl_context(), network_backend=_CheckedBackend(policy)
    )
    return httpx.Client(transport=transport, follow_redirects=False, headers={"User-Agent": "nu3d-fetch/1"})


def _check_url(url: str, policy: FetchPolicy) -> None:
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise FetchError(f"{url[:200]!r} is not a valid URL", code="bad_url") from None
    if parts.scheme not in {"http", "https"}:
        raise FetchError(
            f"only http(s) URLs can be fetched, not {parts.scheme or 'a relative URL'}", code="bad_url"
        )
    if not parts.hostname:
        raise FetchError(f"the URL {url[:200]!r} has no host", code="bad_url")
    if parts.username or parts.password:
        raise FetchError("URLs with credentials are not fetched", code="bad_url")
    check_url_early(url, policy)  # literal addresses in any spelling, metadata hosts


def fetch_bytes(url: str, policy: FetchPolicy) -> bytes:
    """GET `url` under `policy`; returns the body. Raises FetchError."""
    deadline = time.monotonic() + policy.timeout_s
    with _client(policy) as client:
        for _ in range(MAX_REDIRECTS + 1):
            _check_url(url, policy)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(
                    f"fetching {url[:200]} took longer than {policy.timeout_s:g} s",
                    code="timeout",
                    retryable=True,
                )
            try:
                with client.stream("GET", url, timeout=httpx.Timeout(remaining)) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError("redirect without a Location header", code="bad_response")
                        url = urljoin(url, location)
                        continue
                    if response.status_code >= 400:
                        raise FetchError(
                            f"GET {url[:200]} answered HTTP {response.status_code}",
                            code="http_error",
                            retryable=response.status_code >= 500 or response.status_code == 429,
                        )
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                        raise FetchError(_too_large(url, policy), code="too_large")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > policy.max_bytes:
                            raise FetchError(_too_large(url, policy), code="too_large")
                        if time.monotonic() > deadline:
                            raise FetchError(
                                f"fetching {url[:200]} took longer than {policy.timeout_s:g} s",
                                code="timeout",
                                retryable=True,
                            )
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.InvalidURL as err:
                raise FetchError(f"{url[:200]!r} is not a valid URL: {err}", code="bad_url") from None
            except httpx.TimeoutException:
                raise FetchError(
                    f"fetching {url[:200]} took longer than {policy.timeout_s:g} s",
                    code="timeout",
                    retryable=True,
                ) from None
            except httpx.TransportError as err:
                cause = err.__context__ if isinstance(err.__context__, FetchError) else None
                if cause is not None:
                    raise cause from None
                raise FetchError(
                    f"cannot fetch {url[:200]}: {err}", code="network_error", retryable=True
                ) from None
    raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url[:200]}", code="too_many_redirects")


def _too_large(url: str, policy: FetchPolicy) -> str:
    return f"{url[:200]} is larger than the {policy.max_bytes / 1024 / 1024:g} MB limit"
