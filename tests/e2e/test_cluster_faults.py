"""The local cluster failing on purpose (workbook/cluster.py): nginx in front of three chat
workers, PostgreSQL, Redis with Sentinel, all real processes, and real clients through nginx
that stay in their room as the room page does (workbook/chat_client.py ReconnectingClient).

Whatever breaks, no message the chat acknowledged is lost and none is read twice: what each
listener read is exactly what was sent, in order. The tests leave the cluster whole (three
workers, PostgreSQL up) for the next one. The last is the room page's part: while
PostgreSQL is down it keeps the text the chat could not save.
"""

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from chat import frames
from chatproject.settings import CHAT_SAVE_SECONDS
from tests.e2e.test_browser import two_users
from tests.helpers import messages, say_not_saved
from workbook.chat_client import ReconnectingClient, join, next_frame, say
from workbook.nginx import served_by

pytestmark = pytest.mark.live

# A killed worker's clients are reading again, on another worker, within this
RECONNECT_BOUND = 5.0
# Sending works again within this once PostgreSQL is back
RECOVERY_BOUND = 15.0
# How soon a worker logs a socket it accepted, and nginx a socket closed
LOG_BOUND = 5.0
# Each scenario as a whole, so that one that cannot finish fails instead of hanging
SCENARIO_TIMEOUT = 60


async def wait_for(condition: Callable[[], object], timeout: float, what: str):
    """condition()'s first true value, asked every 20 ms; TimeoutError(what) after timeout."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:g} s")
        await asyncio.sleep(0.02)
    return value


def sockets_logged(worker, room: str) -> int:
    """How many sockets to room the worker accepted: daphne logs each as WSCONNECT."""
    return worker.log().count(f"WSCONNECT /ws/chat/{room}/")


async def placed(cluster, room: str, open_socket):
    """Open a socket through nginx (await open_socket()) and find the worker nginx gave it
    to, from the workers' own logs: (what open_socket returned, the worker's name). Sockets
    must be opened one at a time for the answer to be exact."""
    before = {name: sockets_logged(worker, room) for name, worker in cluster.workers.items()}
    opened = await open_socket()

    def new_on() -> list[str]:
        workers = cluster.workers.items()
        return [name for name, worker in workers if sockets_logged(worker, room) > before[name]]

    (name,) = await wait_for(new_on, LOG_BOUND, "no worker logged the socket")
    return opened, name


async def connect_client(cluster, room: str) -> tuple[ReconnectingClient, str]:
    """A ReconnectingClient connected through nginx, and the name of its worker."""
    client = ReconnectingClient(cluster.nginx, room)

    async def connect() -> ReconnectingClient:
        await client.connect()
        return client

    return await placed(cluster, room, connect)


async def moved_away(client: ReconnectingClient, old, since: float) -> tuple[float, float]:
    """Seconds from since until the client had a new socket, and until it read a message
    on it."""
    await wait_for(lambda: client.websocket is not old, RECONNECT_BOUND, "no new socket")
    reconnected = time.monotonic() - since
    count = len(client.read)
    await wait_for(lambda: len(client.read) > count, RECONNECT_BOUND, "nothing read on it")
    return reconnected, time.monotonic() - since


def gap_requests(nginx, room: str) -> list[dict[str, str]]:
    """nginx's lines for sockets to room opened with ?after_seq= past 0 (a reconnect)."""
    prefix = f"GET /ws/chat/{room}/?after_seq="
    requests = [
        entry
        for entry in nginx.access_log()
        if entry["request"].startswith(prefix) and entry["status"] == "101"
    ]
    return [entry for entry in requests if not entry["request"].startswith(f"{prefix}0 ")]


async def keep_sending(client: ReconnectingClient, sent: list[str], interval: float) -> None:
    """Say "message 001", "message 002", … every interval seconds until cancelled; each
    text goes into sent once it is on a socket."""
    for number in itertools.count(1):
        text = f"message {number:03d}"
        await client.say(text)
        sent.append(text)
        await asyncio.sleep(interval)


async def finish(
    sending: asyncio.Task, sent: list[str], clients: list[ReconnectingClient], more: int
) -> None:
    """Let more messages go, stop sending, and wait until every client has read as many
    as were sent (5 s at most: the assertions that follow say what is missing)."""
    count = len(sent)
    await wait_for(lambda: len(sent) >= count + more, 5, "the sender stopped")
    sending.cancel()
    everything = asyncio.gather(*(client.read_up_to(len(sent)) for client in clients))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(everything, 5)


def assert_read_exactly(clients: list[ReconnectingClient], sent: list[str]) -> None:
    """Each client read every message sent, once, in order, with no seq skipped."""
    for client in clients:
        assert client.read == sent, "a message was lost, repeated or out of order"
        seqs = [frame["seq"] for frame in client.frames]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


async def stop_all(tasks: list[asyncio.Task], clients: list[ReconnectingClient]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.close()


def start_again(cluster, ports: dict[str, int]) -> None:
    """Start each worker that is not running again on its port; return once nginx gives
    it requests again (it keeps a worker it could not reach out of turn for a while)."""
    for name, port in ports.items():
        if not cluster.workers[name].is_running():
            started = time.monotonic()
            cluster.start_worker(name, port)
            cluster.wait_until_in_turn(name)
            print(f"{name} started again and in turn after {time.monotonic() - started:.1f} s")


async def close_and_find(nginx, websocket) -> dict[str, str]:
    """Close the socket and return the line nginx logged for it (the next one it logs)."""
    lines = len(nginx.access_log())
    await websocket.close()
    await wait_for(lambda: len(nginx.access_log()) > lines, LOG_BOUND, "nginx logged nothing")
    return nginx.access_log()[lines]


async def test_a_message_said_on_one_worker_is_read_on_another(local_cluster):
    """Two sockets through nginx, on two different workers (least_conn spreads them): what
    one says, the other reads; nginx's access log names the two workers as the sockets'
    upstreams, and each worker's own log shows the socket it accepted (WSCONNECT)."""
    cluster = local_cluster
    room = "across"

    async def scenario() -> dict[str, str]:
        sockets: dict[str, object] = {}
        spare = []
        while len(sockets) < 2:
            websocket, worker = await placed(cluster, room, lambda: join(cluster.nginx, room))
            if worker in sockets:
                spare.append(websocket)
            else:
                sockets[worker] = websocket
        (speaker_at, speaker), (listener_at, listener) = sockets.items()
        await say(speaker, "from one worker to another")
        assert (await next_frame(listener))["message"] == "from one worker to another"
        # nginx writes a socket's line when it closes: close them one by one to tell them apart
        upstreams = {}
        for worker, websocket in sockets.items():
            entry = await close_and_find(cluster.nginx, websocket)
            assert entry["request"].startswith(f"GET /ws/chat/{room}/"), entry
            upstreams[worker] = served_by(entry)
        for websocket in spare:
            await websocket.close()
        print(f"said on {speaker_at}, read on {listener_at}; nginx: {upstreams}")
        return upstreams

    upstreams = await asyncio.wait_for(scenario(), SCENARIO_TIMEOUT)
    assert len(set(upstreams.values())) == 2
    for worker, upstream in upstreams.items():
        assert cluster.worker_at(upstream) == worker
        assert sockets_logged(cluster.workers[worker], room) >= 1


async def test_a_worker_killed_loses_nothing(local_cluster):
    """kill -9 the worker a listener is on while a client on another says a message every
    0.2 s: the listener's socket closes without a close frame, it is reading again through
    nginx on another worker within 5 s, its gap filled by seq, and every client read every
    message once, in order. The worker is started again afterwards."""
    cluster = local_cluster
    room = "killed"
    took: dict[str, float] = {}

    async def scenario() -> tuple[list[ReconnectingClient], list[str]]:
        sender, sender_at = await connect_client(cluster, room)
        listeners: list[tuple[ReconnectingClient, str]] = []
        # least_conn spreads them: enough listeners that one is on a worker the sender is not
        while len(listeners) < 3 or all(at == sender_at for _, at in listeners):
            assert len(listeners) < 9, f"every listener went to {sender_at}"
            listeners.append(await connect_client(cluster, room))
        victim = next(at for _, at in listeners if at != sender_at)
        moved = [client for client, at in listeners if at == victim]
        stayed = [client for client, at in listeners if at != victim]
        clients = [sender] + [client for client, _ in listeners]
        print(f"sender on {sender_at}; listeners on {[at for _, at in listeners]}")
        sent: list[str] = []
        tasks = [asyncio.create_task(client.read_all_along()) for client in clients]
        sending = asyncio.create_task(keep_sending(sender, sent, 0.2))
        try:
            await wait_for(lambda: all(len(c.read) >= 3 for c in clients), 10, "nothing read")
            old_sockets = [client.websocket for client in moved]
            killed = time.monotonic()
            cluster.kill_worker(victim)
            for client, old in zip(moved, old_sockets, strict=True):
                reconnected, reading = await moved_away(client, old, killed)
                took["reconnected"] = round(max(took.get("reconnected", 0), reconnected), 2)
                took["reading again"] = round(max(took.get("reading again", 0), reading), 2)
            # A few more on the new sockets, then everything read
            await finish(sending, sent, clients, more=5)
        finally:
            sending.cancel()
            await stop_all(tasks, clients)
        print(f"{len(sent)} messages; {victim} killed, its listeners (s after the kill): {took}")
        for client in moved:
            assert client.close_codes == [None], "a killed worker sends no close frame"
        # The moved listeners came back asking for what followed the last seq they read
        back = await wait_for(
            lambda: gap_requests(cluster.nginx, room), LOG_BOUND, "no ?after_seq= reconnect"
        )
        assert len(back) == len(moved), back
        for client in stayed + [sender]:
            assert client.close_codes == []
        assert took["reading again"] < RECONNECT_BOUND
        return clients, sent

    ports = {name: worker.port for name, worker in cluster.workers.items()}
    try:
        clients, sent = await asyncio.wait_for(scenario(), SCENARIO_TIMEOUT)
    finally:
        await asyncio.to_thread(start_again, cluster, ports)
    assert_read_exactly(clients, sent)


async def test_a_rolling_restart_of_every_worker_loses_nothing(local_cluster):
    """chat-1, chat-2, chat-3 drained and started again one after the other while a client
    says a message every 0.5 s: the sender and a listener read every message once, in
    order, and the only closes they saw were 1012 (service restart)."""
    cluster = local_cluster
    room = "rolling"
    took: dict[str, float] = {}

    async def scenario() -> tuple[list[ReconnectingClient], list[str]]:
        (sender, _), (listener, _) = [await connect_client(cluster, room) for _ in range(2)]
        clients = [sender, listener]
        sent: list[str] = []
        tasks = [asyncio.create_task(client.read_all_along()) for client in clients]
        sending = asyncio.create_task(keep_sending(sender, sent, 0.5))
        try:
            await wait_for(lambda: len(listener.read) >= 2, 10, "nothing read")
            for name in list(cluster.workers):
                started = time.monotonic()
                await asyncio.to_thread(cluster.restart_worker, name)
                took[name] = round(time.monotonic() - started, 1)
            await finish(sending, sent, clients, more=2)
        finally:
            sending.cancel()
            await stop_all(tasks, clients)
        print(f"{len(sent)} messages; each restart, until nginx used the worker again: {took} s")
        return clients, sent

    clients, sent = await asyncio.wait_for(scenario(), SCENARIO_TIMEOUT)
    assert_read_exactly(clients, sent)
    for client in clients:
        assert client.close_codes, "a client was never moved"
        assert set(client.close_codes) == {frames.CLOSE_SERVICE_RESTART}, client.close_codes


async def saved(websocket, text: str) -> dict:
    """Say text and wait for the chat's answer to it: its own message frame back (saved and
    sent to the room: acknowledged), or an error frame."""
    await say(websocket, text)
    while True:
        frame = await next_frame(websocket, None, timeout=CHAT_SAVE_SECONDS + 3)
        if frame["type"] == "error" or frame.get("message") == text:
            return frame


async def test_postgres_restarted_under_the_workers(local_cluster):
    """PostgreSQL stopped as a crash would: a sender on each worker is answered not_saved
    (retry) and the room hears nothing; once it is back, each sends again within 15 s on
    the same worker processes, and a listener read every acknowledged message once."""
    cluster = local_cluster
    room = "database"
    pids = {name: worker.pid for name, worker in cluster.workers.items()}

    async def scenario() -> tuple[ReconnectingClient, list[str]]:
        senders = {}
        spare = []
        while len(senders) < len(cluster.workers):
            assert len(senders) + len(spare) < 9, f"the sockets went to {list(senders)} only"
            websocket, worker = await placed(cluster, room, lambda: join(cluster.nginx, room))
            if worker in senders:
                spare.append(websocket)
            else:
                senders[worker] = websocket
        listener, _ = await connect_client(cluster, room)
        reading = asyncio.create_task(listener.read_all_along())
        acknowledged = []
        try:
            for worker, websocket in senders.items():
                frame = await saved(websocket, f"before, on {worker}")
                assert frame["type"] == "message", frame
                acknowledged.append(frame["message"])
            outage = cluster.postgres_down()
            down = time.monotonic()
            await asyncio.to_thread(outage.__enter__)
            try:
                for worker, websocket in senders.items():
                    frame = await saved(websocket, f"during, on {worker}")
                    assert (frame["type"], frame["code"]) == ("error", frames.NOT_SAVED), frame
                    assert frame["retry"] is True
            finally:
                await asyncio.to_thread(outage.__exit__, None, None, None)
            up = time.monotonic()
            for worker, websocket in senders.items():
                text = f"after, on {worker}"
                frame = await until_saved(websocket, text, up + RECOVERY_BOUND)
                acknowledged.append(frame["message"])
            recovered = time.monotonic() - up
            await asyncio.wait_for(listener.read_up_to(len(acknowledged)), 5)
            # Had a "during" message reached the room, it would be read by now
            await say(senders[next(iter(senders))], "last")
            await asyncio.wait_for(listener.read_up_to(len(acknowledged) + 1), 5)
            acknowledged.append("last")
        finally:
            reading.cancel()
            await stop_all([reading], [listener])
            for websocket in [*senders.values(), *spare]:
                await websocket.close()
        print(
            f"PostgreSQL down for {up - down:.1f} s; every worker saving again "
            f"{recovered:.1f} s after it was back"
        )
        return listener, acknowledged

    listener, acknowledged = await asyncio.wait_for(scenario(), SCENARIO_TIMEOUT)
    assert_read_exactly([listener], acknowledged)
    assert {name: worker.pid for name, worker in cluster.workers.items()} == pids
    assert all(worker.is_running() for worker in cluster.workers.values())


async def until_saved(websocket, text: str, deadline: float) -> dict:
    """Say text until the chat acknowledges it (its message frame back), as the room page's
    user would after a not_saved; AssertionError at deadline."""
    while True:
        frame = await saved(websocket, text)
        if frame["type"] == "message":
            return frame
        assert frame["code"] == frames.NOT_SAVED, frame
        assert time.monotonic() < deadline, f"{text!r} still not saved: {frame}"
        await asyncio.sleep(0.2)


@pytest.mark.browser
def test_the_page_keeps_the_text_while_postgres_is_down(local_cluster, new_context):
    """Two pages through nginx, PostgreSQL stopped: Enter says "not sent", the text stays in
    the box and the page stays connected; once PostgreSQL is back, Enter sends it (again
    until saved, as a user would) and both pages show it once."""
    cluster = local_cluster
    alice, bob = two_users(new_context, cluster.nginx, "keeping")
    box = alice.locator("#chat-message-input")
    with cluster.postgres_down():
        say_not_saved(alice, "worth keeping")
    deadline = time.monotonic() + RECOVERY_BOUND
    while box.input_value():
        assert time.monotonic() < deadline, "still not saved"
        box.press("Enter")
        with contextlib.suppress(AssertionError):
            expect(box).to_have_value("", timeout=2_000)
    for page in (alice, bob):
        expect(messages(page)).to_have_text(["worth keeping"])
