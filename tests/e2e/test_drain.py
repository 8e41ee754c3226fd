"""A worker asked to stop drains (chatproject/drain.py): real daphne workers, real Redis and,
for a rolling restart, a real nginx in front of two workers.

SIGTERM makes a worker stop listening at once, close its sockets with 1012 ("service
restart") and exit once they and the requests in flight have ended, or after
CHAT_DRAIN_SECONDS. A client that reconnects on 1012 with ``?after_seq=``, as the room page
does, loses nothing and sees nothing twice while each worker in turn is drained and restarted.
"""

import asyncio
import os
import re
import signal
import socket
import time

import pytest

from chat import frames
from chatproject.drain import RESTART_REASON
from workbook.chat_client import join, next_frame, say
from workbook.paths import CHATPROJECT_DIR
from workbook.ports import is_listening

pytestmark = pytest.mark.live

ROOM = "drain"
# A worker's drain in these tests: long enough that a test which waits it out has failed
DRAIN_SECONDS = 10
# What a stopping worker may take past its drain: the reactor's shutdown, the process's exit
EXIT_MARGIN = 5
# How soon after the signal the port refuses and the sockets hear 1012
SIGNAL_BOUND = 2.0

ROOM_JS = CHATPROJECT_DIR / "chat" / "static" / "chat" / "room.js"


def wait_until(condition, timeout: float, what: str) -> float:
    """Seconds until condition() held; TimeoutError(what) after timeout."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} within {timeout:g} s")
        time.sleep(0.02)
    return time.monotonic() - started


def terminate(server) -> None:
    """SIGTERM, as a service manager asks a worker to stop (not its process group: daphne
    alone, as systemd's KillMode=mixed or Docker's stop does)."""
    os.kill(server.pid, signal.SIGTERM)


def exit_status(server, timeout: float) -> int:
    """The worker's exit status, once it has exited by itself (TimeoutError if it does not)."""
    wait_until(lambda: server.process.poll() is not None, timeout, "the worker did not exit")
    return server.process.returncode


def refused(server) -> bool:
    return not is_listening(server.port, server.host)


def raw_socket(server) -> socket.socket:
    connection = socket.create_connection((server.host, server.port), timeout=SIGNAL_BOUND)
    return connection


def open_silent_socket(server) -> socket.socket:
    """A WebSocket opened by hand that then never answers: not a close, not a ping."""
    connection = raw_socket(server)
    handshake = (
        f"GET /ws/chat/{ROOM}/ HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
        f"Origin: {server.url}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    connection.sendall(handshake.encode())
    answer = read_until(connection, b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return connection


def read_until(connection: socket.socket, end: bytes) -> bytes:
    data = b""
    while end not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def read_to_the_end(connection: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection."""
    connection.settimeout(timeout)
    data = b""
    try:
        while chunk := connection.recv(4096):
            data += chunk
    except ConnectionResetError:
        pass
    return data


class TestTheCloseCode:
    def test_room_js_knows_the_code(self):
        """The page's constant is frames.CLOSE_SERVICE_RESTART, as CLOSE_SIGNED_OUT's is."""
        script = ROOM_JS.read_text()
        for name in ("CLOSE_SERVICE_RESTART", "CLOSE_SIGNED_OUT"):
            constant = re.search(rf"const {name} = (\d+);", script)
            assert constant, f"no {name} in room.js"
            assert int(constant[1]) == getattr(frames, name)


async def test_sigterm_drains_sockets_with_1012_and_exits(start_chat_server):
    """The port refuses at once, the socket hears 1012 with a reason, the worker exits by
    itself well before its drain is up, and says so in two lines."""
    server = start_chat_server(CHAT_DRAIN_SECONDS=str(DRAIN_SECONDS))
    async with join(server, ROOM) as websocket:
        await say(websocket, "before the drain")
        await next_frame(websocket, message="before the drain")
        started = time.monotonic()
        terminate(server)
        await asyncio.to_thread(wait_until, lambda: refused(server), SIGNAL_BOUND, "no refusal")
        await asyncio.wait_for(websocket.wait_closed(), SIGNAL_BOUND)
        heard = time.monotonic() - started
    assert websocket.close_code == frames.CLOSE_SERVICE_RESTART
    assert websocket.close_reason == RESTART_REASON
    assert await asyncio.to_thread(exit_status, server, DRAIN_SECONDS + EXIT_MARGIN) == 0
    took = time.monotonic() - started
    assert took < DRAIN_SECONDS, f"the worker waited out its drain ({took:.1f} s)"
    log = server.log()
    assert "Draining on SIGTERM: stopped listening; closing 1 sockets with 1012" in log, log
    assert re.search(r"Drained in [\d.]+ s: the 1 sockets closed with 1012", log), log
    assert "Traceback" not in log
    print(f"1012 heard {heard:.2f} s after SIGTERM; worker exited after {took:.2f} s")


def test_a_client_that_does_not_answer_the_close_is_dropped(start_chat_server):
    """A socket that never answers the 1012 is dropped (autobahn's 1 s close timeout) and
    the worker exits within its drain."""
    drain = 3
    server = start_chat_server(CHAT_DRAIN_SECONDS=str(drain))
    silent = open_silent_socket(server)
    started = time.monotonic()
    terminate(server)
    # It reads (so the test sees the close frame) but never answers
    received = read_to_the_end(silent, drain + EXIT_MARGIN)
    silent.close()
    code = frames.CLOSE_SERVICE_RESTART.to_bytes(2, "big")
    assert b"\x88" + bytes([2 + len(RESTART_REASON)]) + code + RESTART_REASON.encode() in received
    assert exit_status(server, drain + EXIT_MARGIN) == 0
    took = time.monotonic() - started
    assert took < drain + EXIT_MARGIN
    print(f"worker with a silent client exited after {took:.2f} s (drain {drain} s)")


def test_a_request_in_flight_is_answered(start_chat_server):
    """A request whose headers are still coming at the signal is answered normally."""
    server = start_chat_server(CHAT_DRAIN_SECONDS=str(DRAIN_SECONDS))
    connection = raw_socket(server)
    connection.sendall(f"GET /chat/ HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n".encode())
    terminate(server)
    server.wait_for_log("Draining on SIGTERM", timeout=SIGNAL_BOUND)
    connection.sendall(b"Connection: close\r\n\r\n")
    answer = read_to_the_end(connection, DRAIN_SECONDS)
    connection.close()
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b"</html>" in answer
    assert exit_status(server, DRAIN_SECONDS) == 0
    assert "Drained in" in server.log()


def test_a_request_that_never_ends_waits_out_the_drain(start_chat_server):
    """An upload that stops midway holds the worker for CHAT_DRAIN_SECONDS, no longer."""
    drain = 2
    server = start_chat_server(CHAT_DRAIN_SECONDS=str(drain))
    connection = raw_socket(server)
    head = f"POST /chat/ HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nContent-Length: 100\r\n"
    connection.sendall(head.encode() + b"\r\n" + b"x" * 10)
    started = time.monotonic()
    terminate(server)
    try:
        assert exit_status(server, drain + EXIT_MARGIN) == 0
        took = time.monotonic() - started
    finally:
        connection.close()
    assert drain <= took < drain + EXIT_MARGIN
    assert re.search(r"Drain over after [\d.]+ s \(CHAT_DRAIN_SECONDS\) with 1 ", server.log())
    print(f"worker with an unfinished upload exited after {took:.2f} s (drain {drain} s)")


def test_a_second_sigterm_stops_at_once(start_chat_server):
    """Asked again during its drain, the worker stops without waiting (as daphne did)."""
    server = start_chat_server(CHAT_DRAIN_SECONDS=str(DRAIN_SECONDS))
    connection = raw_socket(server)
    head = f"POST /chat/ HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nContent-Length: 100\r\n"
    connection.sendall(head.encode() + b"\r\n")
    started = time.monotonic()
    try:
        terminate(server)
        server.wait_for_log("Draining on SIGTERM", timeout=SIGNAL_BOUND)
        terminate(server)
        assert exit_status(server, EXIT_MARGIN) == 0
    finally:
        connection.close()
    assert time.monotonic() - started < DRAIN_SECONDS
    assert "SIGTERM during the drain: stopping without waiting" in server.log()
