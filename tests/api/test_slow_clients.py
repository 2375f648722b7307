"""Slow and half-open clients against a live `pixmill serve`, over real sockets: a connection that does not finish
its request headers, or stalls its body, is closed; a slow but steady client is served."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import images
from tests.live import LiveServer
from tests.principals import live_account

pytestmark = pytest.mark.live

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("slow")
    live = LiveServer(
        tmp / "data",
        tmp / "server.log",
        PIXMILL_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        PIXMILL_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S),
    ).start()
    yield live
    live.stop()


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (raises on the 10 s socket timeout)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _read_response(sock: socket.socket) -> bytes:
    """One whole response (headers, then Content-Length bytes of body), leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")).split(b":")[1]
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_connections_that_never_finish_their_headers_are_closed(server: LiveServer) -> None:
    silent = [_connect(server) for _ in range(250)]  # half-open: connected, never a byte
    partial = [_connect(server) for _ in range(250)]  # 500 in all, as in issue 12
    for sock in partial:
        sock.sendall(b"GET /api/livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # slowloris: never the blank line
    started = time.monotonic()
    for sock in silent + partial:
        assert _read_all(sock) == b""  # closed by the server, nothing answered
        sock.close()
    assert time.monotonic() - started < HEADER_TIMEOUT_S + 3
    with _connect(server) as sock:  # and the server still serves
        sock.sendall(b"GET /api/livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 200")


def test_an_idle_keep_alive_connection_gets_its_next_request_headers_deadline(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /api/livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /api/livez HTTP/1.1\r\nHost: 1")  # the next request starts, and stalls
        started = time.monotonic()
        assert _read_all(sock) == b""
        assert time.monotonic() - started < HEADER_TIMEOUT_S + 2


def test_a_stalled_body_is_408_and_the_connection_closed(server: LiveServer) -> None:
    for path, content_type, start in (
        ("/api/v1/render-urls", "application/json", b'{"path": "'),
        ("/api/process", "multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data; name="ope'),
    ):
        with _connect(server) as sock:
            head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            sock.sendall(head.encode() + b"Content-Length: 1000\r\n\r\n" + start)
            started = time.monotonic()
            answer = _read_all(sock)  # ends: the server closed the connection
            assert time.monotonic() - started < BODY_TIMEOUT_S + 3
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert b"connection: close" in answer.lower()
            assert b"stalled for over 1s" in answer
            if path == "/api/process":  # FastAPI's error shape on the PixTools routes
                assert b"content-type: application/json" in answer.lower()


def test_a_slow_but_steady_body_is_served(server: LiveServer) -> None:
    ann = live_account(server.data_dir, "ann@example.org")
    r = httpx.post(f"{server.url}/api/v1/uploads", files={"files": ("q.jpg", images.jpeg())}, timeout=30)
    body = b'{"path": "resize:width=10/%s"}' % r.json()["assets"][0]["id"].encode()
    with _connect(server) as sock:
        head = b"POST /api/v1/render-urls HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        auth = f"Authorization: Bearer {ann.token}\r\n".encode()
        sock.sendall(head + auth + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 10):  # over 2 s in all, never 1 s without a byte
            sock.sendall(body[i : i + 10])
            time.sleep(0.4)
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert b"/render/" in answer


def test_the_log_names_the_closed_connections(server: LiveServer) -> None:
    assert "request headers took over" in Path(server.log_path).read_text()
