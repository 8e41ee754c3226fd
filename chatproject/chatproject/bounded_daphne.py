"""daphne, with what it lacks: bounds on what it buffers and on request bodies, and a drain.

Run it exactly as daphne (the same arguments): ``python -m chatproject.bounded_daphne -b 127.0.0.1
-p 8000 chatproject.asgi:application``; the workbook starts the chat this way.

- **A client that stops reading.** daphne (Twisted and autobahn) writes every frame into the
  connection's write buffer at once and never waits, so a client that stops reading grows
  the buffer, and the process, for as long as its room talks; the application cannot see
  that buffer. Here each send checks it: past CHAT_SEND_BUFFER_BYTES unsent, the socket gets
  a ``fell_behind`` error frame and a close (4013), nothing more is written to it, and if
  the client does not answer the close within autobahn's close timeout (1 s) the TCP
  connection is aborted, which frees the buffer.
- **A request body too large.** daphne reads the whole body (to a temporary file past
  100 KB), then queues all of it in memory for the application, before Django sees the
  request. Here a Content-Length over CHAT_MAX_REQUEST_BODY is answered 413 as soon as the
  headers are in, before a byte of the body is kept, and the connection is closed a moment
  later; a chunked body is refused at the chunk that passes the limit.

And a drain: asked to stop (SIGTERM, SIGINT), it stops listening, closes its sockets with
1012 "service restart" and stops once they and the requests in flight have ended, within
CHAT_DRAIN_SECONDS (chatproject/drain.py), where daphne would drop every socket at once.
"""

import logging

import daphne.server  # first: it installs Twisted's asyncio reactor
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from django.conf import settings
from twisted.internet import reactor
from twisted.internet.abstract import FileDescriptor

from chat import frames
from chat.counters import count
from chat.outage import CLOSE_TRY_AGAIN_LATER
from chatproject.drain import DrainingServer

logger = logging.getLogger(__name__)

# How long a refused body is still read, and dropped, after its 413
LINGER_SECONDS = 1.0

FELL_BEHIND_REASON = "this connection fell behind the room; reconnect to catch up from history"


def unsent_bytes(transport: object) -> int:
    """Bytes written to transport that are still in Twisted's buffer, not yet in the kernel's.

    Twisted keeps them in two buffers (FileDescriptor.dataBuffer from offset on, and a list
    of later writes); TLS's transport wraps the TCP one, where its encrypted bytes wait.
    """
    while not isinstance(transport, FileDescriptor) and hasattr(transport, "transport"):
        transport = transport.transport
    if not isinstance(transport, FileDescriptor):
        return 0
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class BoundedWebSocketProtocol(WebSocketProtocol):
    """daphne's WebSocket protocol, which closes a socket whose client stopped reading."""

    closing_behind = False

    def serverSend(self, content, binary=False):
        if self.closing_behind:
            # Told and closing: the room's further messages are for its next connection
            return
        if self.state != self.STATE_OPEN:
            # Closing already (the server drains, chatproject/drain.py): autobahn would
            # raise, and the application with it, losing the frames the client sent before
            # it heard the close; they are still handled (a message saved), and the client
            # catches up from history on its next connection
            return
        super().serverSend(content, binary)
        if unsent_bytes(self.transport) > self.factory.send_buffer_bytes:
            self.fall_behind()

    def fall_behind(self) -> None:
        """Tell the client why (if it reads again), close, and send it nothing more."""
        self.closing_behind = True
        count(frames.FELL_BEHIND)
        logger.info(
            "Closed a socket of %s: over %d bytes waited for it to read",
            self.client_addr,
            self.factory.send_buffer_bytes,
        )
        # Imported here: the hub needs Django, which daphne sets up after this module loads
        from chat.hub import FELL_BEHIND_RETRY_AFTER

        error = frames.error_frame(
            FELL_BEHIND_REASON, frames.FELL_BEHIND, retry=True, retry_after=FELL_BEHIND_RETRY_AFTER
        )
        self.sendMessage(error.encode())
        # A client that answers the close in time closes cleanly; one that does not read is
        # dropped after autobahn's closeHandshakeTimeout, and its buffer with it
        self.sendClose(code=CLOSE_TRY_AGAIN_LATER)


class BoundedWebSocketFactory(WebSocketFactory):
    protocol = BoundedWebSocketProtocol

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.send_buffer_bytes = settings.CHAT_SEND_BUFFER_BYTES


class BoundedRequest(WebRequest):
    """daphne's HTTP request, which refuses a body over the limit before reading it."""

    body_refused = False

    def gotLength(self, length):
        limit = self.channel.factory.max_request_body
        if length is not None and length > limit:
            self.refuse_body(limit)
            length = 0
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self.body_refused:
            return
        # A chunked body has no Content-Length: it is counted as it comes
        limit = self.channel.factory.max_request_body
        if self.content.tell() + len(data) > limit:
            self.refuse_body(limit)
            return
        super().handleContentChunk(data)

    def process(self):
        if not self.body_refused:
            return super().process()
        return None

    def refuse_body(self, limit: int) -> None:
        """Answer 413 and close: the body is never read, nor passed to the application."""
        self.body_refused = True
        count(frames.REQUEST_TOO_BIG)
        logger.info("Refused a request body over %d bytes from %s", limit, self.getClientAddress())
        text = f"Request body too large: the limit is {limit} bytes\n".encode()
        head = (
            b"HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(text)
        )
        # Twisted answers "Expect: 100-continue" right after gotLength(): no invitation to
        # send the body we refuse
        self.requestHeaders.removeHeader(b"Expect")
        transport = self.channel.transport
        transport.write(head + text)
        # The answer ends there (FIN). What the client still sends is read and dropped for
        # a moment: closing on unread bytes would reset the connection, and a client still
        # sending would lose the 413 with it
        transport.loseWriteConnection()
        reactor.callLater(LINGER_SECONDS, transport.abortConnection)


class BoundedHTTPFactory(HTTPFactory):
    def __init__(self, server):
        super().__init__(server)
        self.max_request_body = settings.CHAT_MAX_REQUEST_BODY

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedRequest
        return protocol


class DrainingCommandLineInterface(CommandLineInterface):
    """daphne's command line, whose server drains when asked to stop (chatproject/drain.py)."""

    server_class = DrainingServer


def main() -> None:
    # daphne's Server.run() makes its two factories from these names; nothing else changes
    daphne.server.HTTPFactory = BoundedHTTPFactory
    daphne.server.WebSocketFactory = BoundedWebSocketFactory
    DrainingCommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
