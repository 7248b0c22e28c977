"""The network edge of upload-by-URL tests, as fixtures (`pytest_plugins`).

A test names the servers (core/tests/url_servers.py) by DNS names such as
`files.example.test` that a patched `socket.getaddrinfo` answers; the address
policy lets through the one loopback address the servers listen on (TEST_ADDRESS)
and nothing else, so a redirect to 127.0.0.1 still meets the real policy. Every
connection the fetcher opens is recorded, and one to anything but loopback fails
the test before it is made.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import urllib3.util.connection

from core import url_fetch
from core.tests.url_servers import TEST_ADDRESS, LocalServer, Route


@dataclass
class Network:
    """The patched edge: names the resolver answers, and connections made."""

    names: dict[str, str] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    connections: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
def network(monkeypatch) -> Network:
    net = Network()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = urllib3.util.connection.create_connection
    real_policy = url_fetch.address_allowed

    def getaddrinfo(host, port, *args, **kwargs):
        net.lookups.append(host)
        host = net.names.get(host, host)
        if host == "localhost":
            return real_getaddrinfo(host, port, *args, **kwargs)  # /etc/hosts
        # Numeric hosts only (127.1 and 2130706433 too, as the C library reads
        # them): no lookup ever leaves the machine, another name does not resolve.
        return real_getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )

    def create_connection(address, *args, **kwargs):
        net.connections.append(address)
        assert ipaddress.ip_address(address[0]).is_loopback, address
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    monkeypatch.setattr(
        url_fetch,
        "address_allowed",
        lambda address: address == TEST_ADDRESS or real_policy(address),
    )
    return net


@pytest.fixture
def serve(network, settings) -> Iterator[Callable[..., LocalServer]]:
    """Starts a server on TEST_ADDRESS (or another loopback host) and allows its port."""
    started: list[LocalServer] = []

    def start(
        routes: dict[str, Route],
        *,
        host: str = str(TEST_ADDRESS),
        tls: ssl.SSLContext | None = None,
    ) -> LocalServer:
        server = LocalServer(host=host, routes=routes, tls=tls).start()
        started.append(server)
        settings.UPLOAD_URL_ALLOWED_PORTS = [
            *settings.UPLOAD_URL_ALLOWED_PORTS,
            server.port,
        ]
        return server

    yield start
    for server in started:
        server.close()
