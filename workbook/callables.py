"""WSGI and ASGI callables: call them by hand, or serve them from inside the kernel.

`call_wsgi` and `call_asgi` play the server's part in-process (the exercise checks use
them). `serve_wsgi` runs wsgiref in a background thread; `serve_asgi` runs uvicorn as a task
in the kernel's own event loop. Both bind 127.0.0.1 on a free port.
"""

import asyncio
import atexit
import contextlib
import contextvars
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.util import setup_testing_defaults

import uvicorn

from .i18n import _
from .ports import HOST, free_port

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
    Awaitable[None],
]

_running: set["WSGIThreadServer"] = set()


class WSGIResponse:
    """What a WSGI app gave back when called by hand: status, headers, and the body chunks."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] | None = None
        self.chunks: list[Any] = []
        # What the app returned, as it returned it (a server iterates over it for the body)
        self.returned: Any = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def __repr__(self) -> str:
        return f"<WSGIResponse {self.status!r} {self.headers!r} chunks={self.chunks!r}>"


def wsgi_environ(path: str = "/", query: str = "", method: str = "GET") -> dict[str, Any]:
    """A complete environ for one request, filled in by wsgiref.util.setup_testing_defaults."""
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    setup_testing_defaults(environ)
    return environ


def call_wsgi(app: WSGIApp, environ: dict[str, Any]) -> WSGIResponse:
    """Call a WSGI app once, as a server would: record start_response, collect the body."""
    response = WSGIResponse()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
        response.status, response.headers = status, headers
        return response.chunks.append  # the old-style write() callable

    response.returned = result = app(environ, start_response)
    try:
        response.chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return response


def http_scope(path: str = "/", query: bytes = b"", method: str = "GET") -> dict[str, Any]:
    """The scope an ASGI server builds for one HTTP request to 127.0.0.1."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def websocket_scope(path: str = "/") -> dict[str, Any]:
    """The scope an ASGI server builds for one WebSocket connection to 127.0.0.1."""
    scope = http_scope(path)
    scope.update(type="websocket", scheme="ws", subprotocols=[])
    del scope["method"]
    return scope


class ASGICall:
    """What an ASGI app sent when called by hand, and whether it returned."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.finished = False

    def __repr__(self) -> str:
        state = "returned" if self.finished else "still waiting"
        return f"<ASGICall {state}, sent {self.messages!r}>"


async def call_asgi(
    app: ASGIApp, scope: dict[str, Any], events: Iterable[dict], timeout: float = 2.0
) -> ASGICall:
    """Call an ASGI app once: receive() hands out events in order, send() collects messages.

    After the last event, receive() waits forever, like a client that says nothing more;
    an app still running after timeout seconds is cancelled (finished stays False).
    """
    pending: Iterator[dict] = iter(events)
    call = ASGICall()

    async def receive() -> dict:
        event = next(pending, None)
        if event is None:
            await asyncio.Event().wait()  # nothing more to say: wait until cancelled
        return event

    async def send(message: dict) -> None:
        call.messages.append(message)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(app(scope, receive, send), timeout)
        call.finished = True
    return call


class _QuietHandler(WSGIRequestHandler):
    """wsgiref's handler, logging to the server's list instead of the kernel's stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log_lines.append(f"{self.address_string()} - {format % args}")


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref with one thread per request, as a threaded WSGI server works."""

    daemon_threads = True


class WSGIThreadServer:
    """wsgiref's server running in a background thread of this process."""

    def __init__(self, app: WSGIApp, port: int | None = None, threads: bool = False) -> None:
        server_class = _ThreadingWSGIServer if threads else WSGIServer
        self.port = port or free_port()
        self.httpd = make_server(HOST, self.port, app, server_class, _QuietHandler)
        self.httpd.log_lines = []
        self._read = 0
        # serve_forever checks for shutdown() every poll_interval seconds
        serve = functools.partial(self.httpd.serve_forever, poll_interval=0.05)
        self.thread = threading.Thread(target=serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> "WSGIThreadServer":
        self.thread.start()
        _running.add(self)
        return self

    def new_log_lines(self) -> list[str]:
        """The request lines wsgiref logged since the last call."""
        fresh = self.httpd.log_lines[self._read :]
        self._read += len(fresh)
        return fresh

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        _running.discard(self)
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.thread.join()
        self.httpd.server_close()

    def __repr__(self) -> str:
        state = "running" if self.thread.is_alive() else "stopped"
        return f"<wsgiref {self.url} {state}>"


def serve_wsgi(app: WSGIApp, port: int | None = None, threads: bool = False) -> WSGIThreadServer:
    """Serve a WSGI app with wsgiref on 127.0.0.1 in a background thread.

    threads=True handles each request in a thread of its own, as threaded WSGI servers do.
    """
    return WSGIThreadServer(app, port, threads).start()


@atexit.register
def stop_all() -> None:
    """Stop every wsgiref server this process started and has not stopped yet."""
    for server in list(_running):
        server.stop()


class _KernelServer(uvicorn.Server):
    """uvicorn.Server that leaves Ctrl-C to the kernel (its Interrupt button) while serving."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


# The server whose task is running: everything its task starts inherits this context
_serving: contextvars.ContextVar["ASGILoopServer"] = contextvars.ContextVar("serving")


class _ServerLog(logging.Handler):
    """Keeps the uvicorn log lines of one server (the records logged from its task)."""

    def __init__(self, server: "ASGILoopServer") -> None:
        super().__init__()
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        if _serving.get(None) is self.server:
            self.server.log_lines.append(f"{record.levelname + ':':9} {record.getMessage()}")


class ASGILoopServer:
    """uvicorn serving an ASGI app as a task in the running event loop (the kernel's)."""

    def __init__(self, app: ASGIApp, port: int | None = None, log_level: str = "info") -> None:
        self.port = port or free_port()
        # log_config=None: uvicorn logs to our list, not to the output of whichever cell started it
        config = uvicorn.Config(
            app, host=HOST, port=self.port, log_level=log_level, log_config=None, lifespan="off"
        )
        self.server = _KernelServer(config)
        self.task: asyncio.Task | None = None
        self.log_lines: list[str] = []
        self._read = 0
        self._handler = _ServerLog(self)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def _serve(self) -> None:
        _serving.set(self)
        logger = logging.getLogger("uvicorn")
        logger.propagate = False  # as uvicorn's own logging config does: not to the root logger
        logger.addHandler(self._handler)
        try:
            await self.server.serve()
        except SystemExit as error:  # uvicorn exits when it cannot bind: don't end the kernel
            raise RuntimeError(
                _("uvicorn exited with status {status}", status=error.code)
            ) from None
        finally:
            logger.removeHandler(self._handler)

    async def start(self, timeout: float = 10.0) -> "ASGILoopServer":
        """Start server.serve() as a task and return once uvicorn says it has started."""
        self.task = asyncio.create_task(self._serve())
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if self.task.done():
                raise RuntimeError(f"{self.task.exception()}:\n{self.log()}")
            if time.monotonic() > deadline:
                await self.stop()
                raise TimeoutError(
                    _("uvicorn did not start within {seconds} s", seconds=f"{timeout:.0f}")
                )
            await asyncio.sleep(0.02)
        return self

    def log(self) -> str:
        """Everything uvicorn has logged for this server so far."""
        return "\n".join(self.log_lines)

    def new_log_lines(self) -> list[str]:
        """The lines uvicorn logged since the last call: what the last action caused."""
        fresh = self.log_lines[self._read :]
        self._read += len(fresh)
        return fresh

    async def stop(self) -> None:
        """Ask uvicorn to exit and wait until it has closed its connections (idempotent)."""
        self.server.should_exit = True
        if self.task is not None:
            await self.task

    def __repr__(self) -> str:
        state = "running" if self.task is not None and not self.task.done() else "stopped"
        return f"<uvicorn {self.url} {state}>"


async def serve_asgi(
    app: ASGIApp, port: int | None = None, log_level: str = "info"
) -> ASGILoopServer:
    """Serve an ASGI app with uvicorn on 127.0.0.1, as a task in the running event loop."""
    return await ASGILoopServer(app, port, log_level).start()
