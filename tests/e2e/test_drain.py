"""A worker asked to stop drains (chatproject/drain.py): real daphne workers, real Redis and,
for a rolling restart, a real nginx in front of two workers.

SIGTERM makes a worker stop listening at once, close its sockets with 1012 ("service
restart") and exit once they and the requests in flight have ended, or after
CHAT_DRAIN_SECONDS. A client that reconnects on 1012 with ``?after_seq=``, as the room page
does, loses nothing and sees nothing twice while each worker in turn is drained and restarted.
"""

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import signal
import socket
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from chat import frames
from chatproject.drain import RESTART_REASON
from tests.e2e.test_nginx import NGINX_SOURCE, address, require_nginx, worker_environment
from tests.helpers import messages, say_in_page
from workbook import start_daphne
from workbook.chat_client import RECEIVE_TIMEOUT, ReconnectingClient, join, next_frame, say
from workbook.nginx import NginxServer, collect_static, served_by
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
    """A TCP connection to the worker, to write HTTP by hand (and stop halfway)."""
    return socket.create_connection((server.host, server.port), timeout=SIGNAL_BOUND)


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
    drained = r"Drained in [\d.]+ s \(1 sockets closed with 1012\): nothing in flight"
    assert re.search(drained, log), log
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
    """An upload that stops midway holds the worker for CHAT_DRAIN_SECONDS, no longer; the
    socket closed meanwhile is counted (the counts' line comes out during the drain)."""
    drain = 2
    server = start_chat_server(CHAT_DRAIN_SECONDS=str(drain), CHAT_COUNTS_LOG_SECONDS="0.1")
    silent = open_silent_socket(server)
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
        silent.close()
    assert drain <= took < drain + EXIT_MARGIN
    log = server.log()
    assert re.search(r"Drain over after [\d.]+ s \(CHAT_DRAIN_SECONDS\) with 1 ", log), log
    assert "closing 1 sockets with 1012" in log
    assert re.search(r"Refused or dropped in the last 0.1 s: drained 1\n", log), log
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


# The rolling restart: two workers, as if on two hosts, behind nginx
WORKER_HOSTS = ("127.0.0.2", "127.0.0.3")
# The sender's pace, about the room page's fastest typist (the chat allows 5 a second)
SEND_INTERVAL = 0.2
# nginx takes a worker it could not reach out of turn for fail_timeout (10 s by default)
BACK_IN_TURN_TIMEOUT = 15
# The whole scenario, so that a test that cannot finish fails instead of hanging
SCENARIO_TIMEOUT = 60


def in_turn(nginx: NginxServer, worker, probes: itertools.count) -> bool:
    """Whether nginx gives a request to worker again (it takes one it could not reach out
    of turn for a while); one page asked through nginx."""
    request = f"/chat/?probe={next(probes)}"
    with urllib.request.urlopen(f"{nginx.url}{request}", timeout=5) as answer:
        assert answer.status == 200
    entry = nginx.wait_for_access(request=f"GET {request} HTTP/1.1")
    return served_by(entry) == address(worker)


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    return collect_static(tmp_path_factory.mktemp("static"))


@pytest.fixture
def rolling(redis_url, migrated_database, static_root, tmp_path):
    """nginx in front of two workers, and a way to start a stopped one again; everything
    stopped after the test."""
    require_nginx()
    database = tmp_path / "chat.sqlite3"
    shutil.copyfile(migrated_database, database)
    env = worker_environment(str(database), static_root, CHAT_DRAIN_SECONDS=str(DRAIN_SECONDS))
    started = []

    def start(host: str, port: int | None = None):
        worker = start_daphne(redis_url=redis_url, env=env, migrate=False, host=host, port=port)
        started.append(worker)
        return worker

    try:
        workers = [start(host) for host in WORKER_HOSTS]
        addresses = [address(worker) for worker in workers]
        with NginxServer(addresses, tmp_path / "nginx", static_root, source=NGINX_SOURCE) as nginx:
            yield nginx, workers, start
    finally:
        for worker in started:
            worker.stop()


async def test_a_rolling_restart_loses_nothing(rolling):
    """While one message goes every 0.2 s, worker A is drained and started again, then
    worker B: every message sent is read by both clients exactly once, in order, and the
    only closes they saw were 1012."""
    nginx, workers, start = rolling
    listener, sender = ReconnectingClient(nginx, ROOM), ReconnectingClient(nginx, ROOM)
    sent: list[str] = []
    probes = itertools.count()

    async def keep_sending(stop: asyncio.Event) -> None:
        for number in itertools.count(1):
            if stop.is_set():
                return
            text = f"message {number:03d}"
            await sender.say(text)
            sent.append(text)
            await asyncio.sleep(SEND_INTERVAL)

    async def restart(index: int) -> float:
        """Drain worker index, start it again on its address; the seconds it took."""
        started = time.monotonic()
        worker = workers[index]
        terminate(worker)
        assert await asyncio.to_thread(exit_status, worker, DRAIN_SECONDS + EXIT_MARGIN) == 0
        assert "Drained in" in worker.log(), worker.log()
        workers[index] = await asyncio.to_thread(start, worker.host, worker.port)
        return time.monotonic() - started

    async def scenario() -> dict[str, float]:
        took = {}
        await listener.connect()
        await sender.connect()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(c.read_all_along()) for c in (listener, sender)]
        tasks.append(asyncio.create_task(keep_sending(stop)))
        try:
            await listener.read_up_to(3)
            took["restart A"] = await restart(0)
            # A rolling restart takes the next worker out only once nginx uses the last again
            took["A back in turn"] = await asyncio.to_thread(
                wait_until,
                lambda: in_turn(nginx, workers[0], probes),
                BACK_IN_TURN_TIMEOUT,
                "nginx gave the restarted worker nothing",
            )
            took["restart B"] = await restart(1)
            await listener.read_up_to(len(sent) + 3)
            stop.set()
            await tasks.pop()
            everything = (client.read_up_to(len(sent)) for client in (listener, sender))
            with contextlib.suppress(TimeoutError):
                # Not all there: the assertions below say what is missing
                await asyncio.wait_for(asyncio.gather(*everything), RECEIVE_TIMEOUT)
        finally:
            for task in tasks:
                task.cancel()
            for client in (listener, sender):
                await client.websocket.close()
        return took

    started = time.monotonic()
    took = await asyncio.wait_for(scenario(), SCENARIO_TIMEOUT)
    print(f"{len(sent)} messages in {time.monotonic() - started:.1f} s; {took}")
    assert listener.read == sent, "a message was lost, repeated or out of order"
    assert sender.read == sent
    for client in (listener, sender):
        assert client.close_codes, "a client was never moved"
        assert set(client.close_codes) == {frames.CLOSE_SERVICE_RESTART}, client.close_codes


# Every text the room page's status line shows, kept by the page itself as it changes
RECORD_STATUSES = """() => {
    window.statuses = [];
    const status = document.querySelector("#chat-status");
    new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, {
        childList: true, characterData: true, subtree: true,
    });
}"""


@pytest.mark.browser
def test_the_page_stays_in_the_room_across_a_drain(rolling, new_context):
    """The page's worker is drained: the page moves to the other worker within a second or
    so, with no notice and no backoff countdown, and shows what is said afterwards."""
    nginx, workers, _ = rolling
    page = new_context().new_page()
    page.goto(f"{nginx.url}/chat/{ROOM}/")
    status = page.locator("#chat-status")
    expect(status).to_have_attribute("data-state", "open")
    page.evaluate(RECORD_STATUSES)
    request = f"WSCONNECT /ws/chat/{ROOM}/"
    wait_until(lambda: any(request in w.log() for w in workers), SIGNAL_BOUND, "no socket")
    (serving,) = [worker for worker in workers if request in worker.log()]
    (other,) = [worker for worker in workers if worker is not serving]

    terminate(serving)
    assert exit_status(serving, DRAIN_SECONDS + EXIT_MARGIN) == 0
    expect(status).to_have_attribute("data-state", "open", timeout=5_000)
    other.wait_for_log(request, timeout=SIGNAL_BOUND)

    say_in_page(page, "after the drain")
    expect(messages(page)).to_have_text(["after the drain"])
    expect(page.locator("#chat-log li.notice")).to_have_count(0)
    shown = page.evaluate("window.statuses")
    assert "Reconnecting…" in shown and "Connecting…" not in shown, shown
    assert not [text for text in shown if text.startswith("Disconnected")], shown
