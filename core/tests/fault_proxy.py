"""A loopback TCP proxy in front of a real server that can be switched to fail.

The fault sits at the network edge, where a storage service fails in production:
the client library and the storage backend run unchanged. Modes, per connection
as it opens (or as it sends its next bytes, for an open one):

- "pass": bytes flow both ways;
- "error": every request is read and answered 500, then the connection closes;
- "close": the connection is closed as soon as it is accepted;
- "stall": the request is read and never answered, until the proxy stops;
- "lose_answer": the request reaches the server, its answer never reaches the
  client (an object stored behind a timeout).
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from typing import Literal

Mode = Literal["pass", "error", "close", "stall", "lose_answer"]

_ANSWER_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 52\r\n"
    b"Connection: close\r\n\r\n"
    b'{"error": {"message": "injected by the fault proxy"}}'
)


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.mode: Mode = "pass"
        self.upstream = (upstream_host, upstream_port)
        self.stopped = threading.Event()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}
        )

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()  # ends stalled connections
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _serve(self, client: socket.socket) -> None:
        mode = self.mode
        if mode == "close":
            client.close()
        elif mode == "error":
            _read_request(client)
            client.sendall(_ANSWER_500)
            client.shutdown(socket.SHUT_WR)
        elif mode == "stall":
            _read_request(client)
            self.stopped.wait()
        else:
            self._pipe(client)

    def _pipe(self, client: socket.socket) -> None:
        with socket.create_connection(self.upstream, timeout=10) as upstream:
            while not self.stopped.is_set():
                readable, _, _ = select.select([client, upstream], [], [], 0.1)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is upstream and self.mode == "lose_answer":
                        return  # the server answered; the client never hears it
                    if source is client and self.mode not in {"pass", "lose_answer"}:
                        return  # a kept-alive connection meets the fault too
                    (upstream if source is client else client).sendall(data)


def _read_request(client: socket.socket) -> None:
    """Reads one request's head and its Content-Length body (unless it waits for
    100-continue), so that the answer is not lost to a reset."""
    client.settimeout(10)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = client.recv(65536)
        if not chunk:
            return
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (
            line.decode("latin-1").partition(":") for line in head.split(b"\r\n")[1:]
        )
    }
    if headers.get("expect", "").lower() == "100-continue":
        return
    remaining = int(headers.get("content-length", "0") or 0) - len(body)
    while remaining > 0:
        chunk = client.recv(min(remaining, 65536))
        if not chunk:
            return
        remaining -= len(chunk)
