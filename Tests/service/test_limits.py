"""The HTTP port's limits against the real binary, over raw sockets and the
independent `websockets` client: a connection past the limit is refused
(503 with Retry-After, or close 1013 on /ws), oversized requests get 413,
414 or 431, a slow client is cut off, and an upgrade to a protocol we do
not speak is answered 400 and closed at once."""
import asyncio
import json
import socket
import time

import pytest
import websockets

from conftest import Service

MAX_CONNECTIONS = 4
REQUEST_TIMEOUT = 2


@pytest.fixture(scope="module")
def limited():
    s = Service(extra_args=("--max-connections", str(MAX_CONNECTIONS), "--request-timeout", f"{REQUEST_TIMEOUT}s"))
    yield s
    s.stop()


def exchange(port, request, timeout=10):
    """Sends `request`, reads until the server closes; returns (response bytes, seconds until closed)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(timeout)
        started = time.monotonic()
        received = b""
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-upload: the answer is already waiting to be read
        try:
            while chunk := s.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass  # the answer came before the reset
        return received, time.monotonic() - started


UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def masked_text_frame(text):
    payload, mask = text.encode(), b"\x01\x02\x03\x04"
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def open_websocket(port, after=b""):
    """A raw WebSocket: the upgrade (and `after`, in the same write); returns the socket and what followed the 101."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(UPGRADE + after)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = s.recv(65536)
        assert chunk, "closed during the handshake"
        received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return s, rest


def parse(response):
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_an_upgrade_to_another_protocol_is_answered_400_and_closed_at_once(limited):
    response, closed_after = exchange(limited.port, b"GET /api/status HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n")
    status, headers, body = parse(response)
    assert status == 400
    assert json.loads(body) == {"error": "unsupported upgrade: foo; only websocket is served", "status": 400}
    assert headers["connection"] == "close"
    assert closed_after < 1, "closed at once, not after a timeout"


@pytest.mark.parametrize("request_bytes,expected", [
    (b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431),
    (b"GET /api/status HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 1000) for i in range(17)) + b"\r\n", 431),
    (b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"a" * 200_000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"POST /api/reindex HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n", 413),
    (b"POST /api/reindex HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"80000\r\n" + b"a" * 0x80000 + b"\r\n") * 3, 413),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400),
])
def test_oversized_and_malformed_requests_get_their_status_as_json_and_are_closed(limited, request_bytes, expected):
    response, closed_after = exchange(limited.port, request_bytes)
    status, headers, body = parse(response)
    assert status == expected
    assert json.loads(body)["status"] == expected
    assert headers["connection"] == "close"
    assert closed_after < 1


def test_a_request_that_trickles_in_is_cut_off_after_the_request_timeout(limited):
    """Slow-loris: one header byte every 300 ms keeps the connection busy but
    never finishes the head; the clock is the request's, not the last byte's."""
    with socket.create_connection(("127.0.0.1", limited.port)) as s:
        started = time.monotonic()
        s.sendall(b"GET /api/status HTTP/1.1\r\nHost: x\r\n")
        s.settimeout(0.3)
        closed_after = None
        for _ in range(40):
            try:
                s.sendall(b"X-Slow: 1\r\n")
                if s.recv(1024) == b"":
                    closed_after = time.monotonic() - started
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
        assert closed_after is not None, "a trickling client kept its connection for 12 s"
        assert REQUEST_TIMEOUT - 0.1 < closed_after < REQUEST_TIMEOUT + 2


def test_a_body_that_trickles_in_gets_408(limited):
    with socket.create_connection(("127.0.0.1", limited.port)) as s:
        s.sendall(b"POST /api/reindex HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
        s.settimeout(REQUEST_TIMEOUT + 5)
        status, headers, body = parse(s.recv(65536))
        assert status == 408
        assert json.loads(body)["status"] == 408


def test_a_frame_sent_right_behind_the_upgrade_request_is_served(limited):
    """The bytes NIO's parser had not parsed reach the WebSocket handler, not
    a handler that reads HTTP (which trapped and took the process down)."""
    s, rest = open_websocket(limited.port, masked_text_frame('{"type":"subscribe","channel":"users"}'))
    with s:
        while len(rest) < 2 or len(rest) < 2 + (rest[1] & 0x7F):
            chunk = s.recv(65536)
            assert chunk, "closed instead of answering the subscription"
            rest += chunk
        assert rest[0] == 0x81 and json.loads(rest[2:2 + (rest[1] & 0x7F)])["type"] == "subscribed"
    assert limited.process.poll() is None
    assert exchange(limited.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[0].startswith(b"HTTP/1.1 200")


def test_past_the_connection_limit_http_gets_503_and_a_websocket_1013_and_room_returns(limited):
    # WebSockets hold the slots: the request timeout does not apply to them.
    held = [open_websocket(limited.port)[0] for _ in range(MAX_CONNECTIONS)]
    try:
        response, _ = exchange(limited.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = parse(response)
        assert status == 503
        assert headers["retry-after"] == "5"
        assert "connection limit" in json.loads(body)["error"]

        async def refused_websocket():
            async with websockets.connect(limited.ws) as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
                return closed.value.rcvd.code, closed.value.rcvd.reason
        code, reason = asyncio.run(refused_websocket())
        assert code == 1013
        assert "connection limit" in reason
    finally:
        for s in held:
            s.close()
    # The slots are given back as the connections close.
    deadline = time.monotonic() + 5
    while True:
        response, _ = exchange(limited.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        if parse(response)[0] == 200:
            break
        assert time.monotonic() < deadline, "the limit did not free up after the connections closed"
        time.sleep(0.1)
