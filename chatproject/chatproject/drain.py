"""A drain for daphne: a worker asked to stop lets its clients move to another worker first.

daphne stops its reactor as soon as it gets SIGTERM (or SIGINT), and every open WebSocket
drops (the client sees 1006); daphne has no drain (daphne#177). The chat's daphne
(chatproject/bounded_daphne.py) runs this server instead, which takes either signal as the
start of a drain:

1. It stops listening at once: a load balancer's next connection to it is refused, and the
   balancer tries another worker (nginx's ``proxy_next_upstream error``).
2. It closes every open socket with 1012, "service restart": the page reconnects at once,
   through the balancer to another worker, and asks for what it missed with ``?after_seq=``.
   A message the worker took before that is saved already, since the chat saves it before
   the room hears of it.
3. When every socket and every HTTP request in flight has ended, their application
   instances too, or after CHAT_DRAIN_SECONDS, daphne stops as it always did.

A second signal stops it without waiting.
"""

import logging
import signal
import time

from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from twisted.internet import reactor

from chat import frames
from chat.counters import count

logger = logging.getLogger(__name__)

# The close frame's reason: for whoever reads the wire; the page shows nothing for 1012
RESTART_REASON = "service restart: reconnect to catch up"
# How often a drain looks whether everything has ended
CHECK_SECONDS = 0.05


def close_for_restart(protocol: WebSocketProtocol) -> None:
    """Close an open socket with 1012: the server going away, the client to come back."""
    # autobahn's sendClose() takes 1000 and 3000-4999 only; the frame itself takes any code
    reason = RESTART_REASON.encode()
    protocol.sendCloseFrame(code=frames.CLOSE_SERVICE_RESTART, reasonUtf8=reason, isReply=False)


def in_flight(connections: dict) -> int:
    """Connections daphne still serves (its Server.connections): sockets and requests not
    ended, or ended with their application instance still running (saving a message the
    client sent last, say)."""
    return sum(not ended(details) for details in connections.values())


def ended(details: dict) -> bool:
    application = details.get("application_instance")
    return "disconnected" in details and (application is None or application.done())


class Drain:
    """One drain of server: stop listening, close the sockets, stop daphne once all ended."""

    def __init__(self, server: "DrainingServer", seconds: float) -> None:
        self.server = server
        self.seconds = seconds
        self.started = time.monotonic()
        self.closed = 0

    def start(self, signal_name: str) -> None:
        for port in self.server.ports:
            port.stopListening()
        sockets = self.close_open_sockets()
        logger.info(
            "Draining on %s: stopped listening; closing %d sockets with %d (service restart); "
            "stopping when they and the requests in flight have ended, within %g s",
            signal_name,
            sockets,
            frames.CLOSE_SERVICE_RESTART,
            self.seconds,
        )
        self.check()

    def close_open_sockets(self) -> int:
        """Close every open socket with 1012; how many. A socket whose handshake was under
        way at the signal opens later, and the next check closes it."""
        sockets = [
            protocol
            for protocol in list(self.server.connections)
            if isinstance(protocol, WebSocketProtocol) and protocol.state == protocol.STATE_OPEN
        ]
        for protocol in sockets:
            close_for_restart(protocol)
        if sockets:
            count(frames.DRAINED, len(sockets))
            self.closed += len(sockets)
        return len(sockets)

    def check(self) -> None:
        """Stop daphne if nothing is in flight or time is up; else look again shortly."""
        self.close_open_sockets()
        left = in_flight(self.server.connections)
        seconds = time.monotonic() - self.started
        if left and seconds < self.seconds:
            reactor.callLater(CHECK_SECONDS, self.check)
            return
        if left:
            logger.warning(
                "Drain over after %.1f s (CHAT_DRAIN_SECONDS) with %d connections still open: "
                "stopping anyway",
                seconds,
                left,
            )
        else:
            logger.info(
                "Drained in %.1f s (%d sockets closed with %d): nothing in flight; stopping",
                seconds,
                self.closed,
                frames.CLOSE_SERVICE_RESTART,
            )
        self.server.stop()


class DrainingServer(Server):
    """daphne's server, which drains on SIGTERM and SIGINT instead of stopping at once."""

    def run(self) -> None:
        self.ports = []
        self.drain: Drain | None = None
        if self.signal_handlers:
            # After the reactor has installed its own handlers (stop at once): these replace them
            reactor.callWhenRunning(self.install_signal_handlers)
        super().run()

    def listen_success(self, port) -> None:
        # daphne keeps only the address; a drain needs the port itself to stop listening
        self.ports.append(port)
        super().listen_success(port)

    def install_signal_handlers(self) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self.on_signal)

    def on_signal(self, number: int, frame: object) -> None:
        # A handler runs between any two lines of the reactor's thread: hand the work to it
        reactor.callFromThread(self.start_drain, signal.Signals(number).name)

    def start_drain(self, signal_name: str) -> None:
        if self.drain is not None:
            logger.warning("%s during the drain: stopping without waiting", signal_name)
            self.stop()
            return
        self.drain = Drain(self, settings.CHAT_DRAIN_SECONDS)
        self.drain.start(signal_name)
