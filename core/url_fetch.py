"""Fetching a file that a user names by URL, without reaching what only the server can.

Each host is resolved once, every address it resolves to must be public, and the
connection goes to that address (the name is sent only as Host and TLS SNI, and the
certificate is verified against it), so a second lookup cannot rebind. Redirects are
followed here, at most MAX_REDIRECTS, each checked the same way. The body streams to
a temporary file, cut at the size cap and at the total deadline.

Written on urllib3's connections because no maintained library pins the resolved
address and checks each redirect (advocate, which did, was last released in 2020).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import ipaddress
import logging
import posixpath
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

import urllib3.exceptions
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.response import BaseHTTPResponse
from urllib3.util.ssl_match_hostname import CertificateError

from core.errors import ApiError
from core.uploads import file_too_large

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REDIRECTS = 3
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK_BYTES = 64 * 1024
MAX_URL_LENGTH = 2048
USER_AGENT = "Gatehouse-upload-url/1"

# ipaddress calls 100.64.0.0/10 neither private nor global; it is a carrier's NAT.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
# The well-known NAT64 prefix carries an IPv4 address in its last 32 bits.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
# Deprecated IPv4-compatible addresses (::a.b.c.d): never a real destination.
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class UrlNotAllowed(ApiError):
    status_code = 400
    default_code = "url_not_allowed"
    default_detail = "This URL may not be fetched."


class UrlFetchFailed(ApiError):
    status_code = 502
    default_code = "url_fetch_failed"
    default_detail = "The file could not be fetched from that URL."


def address_allowed(address: IPAddress) -> bool:
    """Whether a fetch may connect to this address: a public unicast one only."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_allowed(embedded)
        if address in IPV4_COMPATIBLE or address.teredo is not None:
            return False
    elif address in SHARED_ADDRESS_SPACE:
        return False
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # IDNA-encoded name or IP literal, without brackets
    port: int
    path: str  # path and query, percent-encoded

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (
            host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"
        )


def _target(url: str) -> _Target:
    if len(url) > MAX_URL_LENGTH or any(
        ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url
    ):
        raise UrlNotAllowed("The URL is not valid.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlNotAllowed("The URL is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlNotAllowed("Only http and https URLs can be fetched.")
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("URLs with a user name or password are not accepted.")
    if not parts.hostname:
        raise UrlNotAllowed("The URL names no host.")
    port = port or DEFAULT_PORTS[scheme]
    if port not in settings.UPLOAD_URL_ALLOWED_PORTS:
        raise UrlNotAllowed(f"Port {port} is not allowed.")
    try:
        host = _host_of(parts.hostname)
    except (UnicodeError, ValueError):
        raise UrlNotAllowed("The URL's host is not valid.") from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    # Percent-encodes what is not ASCII; what is already encoded stays as it is.
    path = quote(path, safe="!#$%&'()*+,/:;=?@[]~")
    return _Target(url=url, scheme=scheme, host=host, port=port, path=path)


def _host_of(hostname: str) -> str:
    try:
        return str(ipaddress.ip_address(hostname))
    except ValueError:
        pass
    host = hostname.rstrip(".").encode("idna").decode("ascii")
    if not host:
        raise ValueError(hostname)
    return host


def _resolve(target: _Target) -> IPAddress:
    """The one address to connect to; refuses the host if any of its addresses is not public."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UrlFetchFailed(f"The host {target.host} could not be resolved.") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses or not all(address_allowed(address) for address in addresses):
        logger.warning(
            "Upload by URL refused: %s resolves to %s", target.host, addresses
        )
        raise UrlNotAllowed(
            f"The host {target.host} is not on the public internet; it cannot be fetched."
        )
    return addresses[0]


def _seconds(value: float) -> str:
    return f"{value:g} second" + ("" if value == 1 else "s")


class _Deadline:
    """The whole fetch's time limit; past it, the open socket is shut down."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds
        self.passed = threading.Event()
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        left = self.ends_at - time.monotonic()
        if left <= 0:
            self.passed.set()
            raise self.error()
        return left

    def guard(self, sock: socket.socket) -> None:
        """Shuts the socket down at the deadline, so no slow read outlives it."""
        self._timer = threading.Timer(self.remaining(), self._cut, args=(sock,))
        self._timer.daemon = True
        self._timer.start()

    def release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _cut(self, sock: socket.socket) -> None:
        self.passed.set()
        # socket.socket's own shutdown: a TLS socket's would race its reader's state.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def error(self) -> UrlFetchFailed:
        return UrlFetchFailed(
            f"The server did not send the file within {_seconds(self.seconds)}."
        )


def _connect(
    target: _Target, address: IPAddress, deadline: _Deadline
) -> HTTPConnection:
    timeout = min(settings.UPLOAD_URL_CONNECT_TIMEOUT, deadline.remaining())
    conn: HTTPConnection
    if target.scheme == "https":
        conn = HTTPSConnection(
            str(address),
            target.port,
            timeout=timeout,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        conn = HTTPConnection(str(address), target.port, timeout=timeout)
    try:
        conn.connect()
    except urllib3.exceptions.ConnectTimeoutError:
        raise UrlFetchFailed(
            f"The server did not accept a connection within {_seconds(timeout)}."
        ) from None
    except (ssl.SSLError, urllib3.exceptions.SSLError, CertificateError):
        raise UrlFetchFailed(
            f"The TLS certificate of {target.host} could not be verified."
        ) from None
    except (OSError, urllib3.exceptions.HTTPError):
        raise UrlFetchFailed(f"Could not connect to {target.host}.") from None
    return conn


def _stream_into(
    response: BaseHTTPResponse,
    file: TemporaryUploadedFile,
    sock: socket.socket,
    *,
    max_bytes: int,
    deadline: _Deadline,
) -> tuple[int, str]:
    declared = response.headers.get("Content-Length")
    if (
        declared is not None
        and declared.strip().isdigit()
        and int(declared) > max_bytes
    ):
        raise file_too_large()
    received = 0
    digest = hashlib.sha256()
    while True:
        sock.settimeout(deadline.remaining())
        # Reads at most one byte past the cap: enough to know it is over.
        chunk = response.read1(min(CHUNK_BYTES, max_bytes + 1 - received))
        if not chunk:
            break
        received += len(chunk)
        if received > max_bytes:
            raise file_too_large()
        digest.update(chunk)
        file.write(chunk)
    if deadline.passed.is_set():  # the cut socket reads as the end of the body
        raise deadline.error()
    return received, digest.hexdigest()


def _download_once(
    target: _Target, *, name: str | None, max_bytes: int, deadline: _Deadline
) -> TemporaryUploadedFile | str:
    """The fetched file, or the URL a redirect points to."""
    address = _resolve(target)
    conn = _connect(target, address, deadline)
    sock = conn.sock
    assert sock is not None  # noqa: S101 (connected above)
    upload: TemporaryUploadedFile | None = None
    try:
        deadline.guard(sock)
        sock.settimeout(deadline.remaining())
        conn.request(
            "GET",
            target.path,
            headers={
                "Host": target.host_header,
                "User-Agent": USER_AGENT,
                "Accept": "*/*",
                "Accept-Encoding": "identity",
            },
            preload_content=False,
            decode_content=False,
        )
        response = conn.getresponse()
        location = response.headers.get("Location")
        if response.status in REDIRECT_STATUSES and location:
            return urljoin(target.url, location.strip())
        if not 200 <= response.status < 300:
            raise UrlFetchFailed(f"The server answered {response.status}.")
        content_type = response.headers.get("Content-Type", "")
        upload = TemporaryUploadedFile(
            name=name or _name_from(target),
            content_type=content_type.split(";")[0].strip()
            or "application/octet-stream",
            size=0,
            charset=None,
        )
        size, sha256 = _stream_into(
            response, upload, sock, max_bytes=max_bytes, deadline=deadline
        )
        upload.size = size
        # Read by checksum_of(), as for a multipart upload.
        setattr(upload, "sha256", sha256)  # noqa: B010
        upload.seek(0)
        return upload
    except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
        if upload is not None:
            upload.close()
        # Every read waits at most until the deadline: its time-out is the deadline's.
        timed_out = (TimeoutError, urllib3.exceptions.TimeoutError)
        if deadline.passed.is_set() or isinstance(exc, timed_out):
            raise deadline.error() from None
        raise UrlFetchFailed(f"The download from {target.host} failed.") from None
    except BaseException:
        if upload is not None:
            upload.close()
        raise
    finally:
        deadline.release()
        conn.close()


def _name_from(target: _Target) -> str:
    path = unquote(urlsplit(target.url).path)
    return posixpath.basename(path) or "file"


@contextlib.contextmanager
def fetched_file(
    url: str, *, max_bytes: int, name: str | None = None
) -> Iterator[TemporaryUploadedFile]:
    """The file at a public http(s) URL, in a temporary file removed on leaving.

    Raises UrlNotAllowed (400) for a URL or address it may not reach, FileTooLarge
    (413) past max_bytes, and UrlFetchFailed (502) when the fetch fails or times out.
    """
    deadline = _Deadline(settings.UPLOAD_URL_TIMEOUT)
    for _ in range(MAX_REDIRECTS + 1):
        fetched = _download_once(
            _target(url), name=name, max_bytes=max_bytes, deadline=deadline
        )
        if not isinstance(fetched, str):
            break
        url = fetched
    else:
        raise UrlNotAllowed(f"The URL redirects more than {MAX_REDIRECTS} times.")
    try:
        yield fetched
    finally:
        fetched.close()
