"""HTTP GET for feeds and pages, made safe to point at URLs strangers wrote.

- Only http and https, on every hop.
- The host is resolved here and every address checked *before* connecting, and the connection goes
  to the checked address (so a second DNS answer cannot swap in another). Private, loopback,
  link-local, multicast and reserved addresses are refused, on the first request and on every
  redirect, unless `allow_loopback` (tests, a feed served on this machine) lets loopback through.
- Caps: redirects, bytes after decompression, and wall-clock time for the whole exchange.
- Conditional GET: pass the ETag / Last-Modified from last time; a 304 comes back as `not_modified`.

Built on http.client rather than a client library because the connect-to-the-checked-address step
needs to own socket creation, which is one small override here.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from broadsheet import __version__
from broadsheet.errors import BroadsheetError

Resolver = Callable[[str, int], list[str]]
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024


class FetchError(BroadsheetError):
    """A URL that could not be fetched, or was refused; `path` is the URL."""


@dataclass(frozen=True)
class FetchPolicy:
    allow_loopback: bool = False
    max_redirects: int = 5
    max_bytes: int = 10 * 1024 * 1024  # after decompression
    timeout: float = 30.0  # seconds for the whole exchange, redirects included
    user_agent: str = f"Broadsheet/{__version__} (static news reader; +https://pypi.org/project/broadsheet/)"


@dataclass(frozen=True)
class Response:
    url: str  # final URL, after redirects
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class Fetcher(Protocol):
    """What importers call; tests pass the real `fetch` pointed at local servers (allow_loopback)."""

    def __call__(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Response: ...


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve host {host!r} ({exc.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_refusal(address: str, *, allow_loopback: bool) -> str | None:
    """Why connecting to `address` is refused, or None when it is a public address (or allowed loopback)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "a non-public address"
    return None


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    policy: FetchPolicy = FetchPolicy(),
    resolver: Resolver = system_resolver,
) -> Response:
    """GET `url` under `policy`. Raises FetchError for anything but a 200 or (conditional) 304."""
    deadline = time.monotonic() + policy.timeout
    current = url
    for _hop in range(policy.max_redirects + 1):
        status, headers, body = _request(current, etag, last_modified, policy, resolver, deadline)
        if status in _REDIRECTS:
            location = headers.get("location")
            if not location:
                raise FetchError(f"HTTP {status} redirect without a Location", path=current)
            current = urljoin(current, location.strip())
            continue
        if status == 304 and (etag or last_modified):
            return Response(current, 304, b"", headers)
        if status != 200:
            raise FetchError(f"HTTP {status}", path=current)
        return Response(current, status, body, headers)
    raise FetchError(f"more than {policy.max_redirects} redirects", path=url)


def _request(
    url: str,
    etag: str | None,
    last_modified: str | None,
    policy: FetchPolicy,
    resolver: Resolver,
    deadline: float,
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"refused: only http and https URLs are fetched, not {scheme or 'a relative URL'}", path=url)
    host = parts.hostname
    if not host:
        raise FetchError("refused: the URL has no host", path=url)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise FetchError("refused: invalid port", path=url) from None
    try:
        addresses = resolver(host, port)
    except OSError as exc:
        raise FetchError(str(exc), path=url) from None
    if not addresses:
        raise FetchError(f"host {host!r} has no address", path=url)
    for address in addresses:
        why = address_refusal(address, allow_loopback=policy.allow_loopback)
        if why:
            raise FetchError(f"refused: {host} resolves to {address}, {why}", path=url)

    remaining = _remaining(deadline, url)
    conn: _PinnedHTTP | _PinnedHTTPS
    if scheme == "https":
        conn = _PinnedHTTPS(host, port, addresses[0], timeout=remaining)
    else:
        conn = _PinnedHTTP(host, port, addresses[0], timeout=remaining)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = {"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        names = {k.lower(): v for k, v in response.getheaders()}
        if response.status in _REDIRECTS or response.status == 304 or response.status >= 400:
            return response.status, names, b""
        return response.status, names, _read_body(response, conn.raw_sock, names, policy, deadline, url)
    except TimeoutError:
        raise FetchError(f"timed out (limit {policy.timeout:g}s)", path=url) from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"connection failed: {exc}", path=url) from None
    finally:
        conn.close()


def _remaining(deadline: float, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _read_body(
    response: http.client.HTTPResponse,
    sock: socket.socket | None,
    headers: Mapping[str, str],
    policy: FetchPolicy,
    deadline: float,
    url: str,
) -> bytes:
    limit = policy.max_bytes
    declared = headers.get("content-length", "")
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if declared.isdigit() and int(declared) > limit:  # compressed size never exceeds the decompressed
        raise FetchError(f"response too large: {int(declared):,} bytes declared, limit {limit:,}", path=url)
    decoder = _decoder(encoding, url)
    out = bytearray()
    while True:
        if sock is not None:  # each read may wait only for what is left of the overall time
            sock.settimeout(_remaining(deadline, url))
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        out += decoder.decompress(chunk, limit + 1 - len(out)) if decoder else chunk
        while decoder and decoder.unconsumed_tail and len(out) <= limit:
            out += decoder.decompress(decoder.unconsumed_tail, limit + 1 - len(out))
        if len(out) > limit:
            raise FetchError(f"response too large: cut off at {limit:,} bytes (after decompression)", path=url)
        _remaining(deadline, url)
    if decoder:
        out += decoder.flush()
        if len(out) > limit:
            raise FetchError(f"response too large: cut off at {limit:,} bytes (after decompression)", path=url)
    return bytes(out)


def _decoder(encoding: str, url: str) -> zlib._Decompress | None:  # type: ignore[name-defined]
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise FetchError(f"unsupported Content-Encoding {encoding!r}", path=url)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address that was checked, never re-resolving the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self.raw_sock: socket.socket | None = None

    def connect(self) -> None:
        self.sock = self.raw_sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address
        self.raw_sock: socket.socket | None = None

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self.raw_sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
