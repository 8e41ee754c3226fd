"""Free ports, found rather than assumed, and waiting for a server to listen on one."""

import socket
import time

from .i18n import _

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A TCP port on host (127.0.0.1 unless told) that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def is_listening(port: int, host: str = HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout: float = 20.0, host: str = HOST) -> None:
    """Return once something accepts connections on the port; TimeoutError after timeout."""
    deadline = time.monotonic() + timeout
    while not is_listening(port, host):
        if time.monotonic() > deadline:
            message = _(
                "nothing listens on {host}:{port} after {seconds} s",
                host=host,
                port=port,
                seconds=f"{timeout:.0f}",
            )
            raise TimeoutError(message)
        time.sleep(0.05)
