"""The chat's daphne protocol, without a server: what it does with a frame the application
sends to a socket that is closing."""

from chatproject.bounded_daphne import BoundedWebSocketProtocol


class Transport:
    """Stands in for the TCP connection: keeps what is written to it."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data


def test_a_frame_for_a_closing_socket_is_dropped_not_raised():
    """A worker that drains has sent its close; the application, still handling what the
    client sent before it heard it (a message to save), sends a frame: it is dropped, and
    the application goes on. autobahn alone raises Disconnected, which ended the consumer
    with the client's last message unsaved."""
    protocol = BoundedWebSocketProtocol()
    protocol.transport = Transport()
    protocol.state = protocol.STATE_CLOSING
    protocol.serverSend('{"type": "history", "messages": []}')
    assert protocol.transport.written == b""
