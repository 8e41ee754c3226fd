"""The WSGI and ASGI plumbing: calling apps by hand, and serving them from this process."""

import asyncio
import time
import urllib.request

import pytest
from websockets.asyncio.client import connect

from tests.helpers import assert_japanese, echo_app
from workbook.callables import (
    call_asgi,
    call_wsgi,
    http_scope,
    serve_asgi,
    serve_wsgi,
    stop_all,
    websocket_scope,
    wsgi_environ,
)
from workbook.ports import is_listening

TEXT_PLAIN = [(b"content-type", b"text/plain")]


def wsgi_app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"path ", environ["PATH_INFO"].encode()]


async def asgi_app(scope, receive, send):
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": TEXT_PLAIN})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


class TestCallWsgi:
    def test_records_status_headers_and_body(self):
        """call_wsgi records what start_response got and joins the body chunks."""
        response = call_wsgi(wsgi_app, wsgi_environ("/hello", "name=Ada"))
        assert response.status == "200 OK"
        assert response.headers == [("Content-Type", "text/plain")]
        assert response.body == b"path /hello"
        assert response.returned == [b"path ", b"/hello"]

    def test_the_environ_is_complete(self):
        """wsgi_environ fills in what every WSGI environ has, around the given request."""
        environ = wsgi_environ("/x", "a=1", "POST")
        assert (environ["REQUEST_METHOD"], environ["PATH_INFO"]) == ("POST", "/x")
        assert environ["QUERY_STRING"] == "a=1"
        assert {"SERVER_NAME", "wsgi.input", "wsgi.url_scheme"} <= set(environ)

    def test_closes_what_the_app_returned(self):
        """A body with close() is closed once read, as PEP 3333 asks of servers."""
        closed = []

        class Body(list):
            def close(self):
                closed.append(True)

        def app(environ, start_response):
            start_response("200 OK", [])
            return Body([b"x"])

        assert call_wsgi(app, wsgi_environ()).body == b"x"
        assert closed == [True]


class TestCallAsgi:
    async def test_collects_messages_of_an_app_that_returns(self):
        """call_asgi hands the app its events and keeps what it sends."""
        request = {"type": "http.request", "body": b"", "more_body": False}
        call = await call_asgi(asgi_app, http_scope("/poyo"), [request])
        assert call.finished
        assert [message["type"] for message in call.messages] == [
            "http.response.start",
            "http.response.body",
        ]
        assert call.messages[1]["body"] == b"/poyo"

    async def test_an_app_that_keeps_waiting_is_cut_off(self):
        """An app still waiting for events after the last one is cancelled, unfinished."""
        events = [{"type": "websocket.connect"}, {"type": "websocket.receive", "text": "hi"}]
        call = await call_asgi(echo_app, websocket_scope("/echo"), events, timeout=0.3)
        assert not call.finished
        assert call.messages[-1] == {"type": "websocket.send", "text": "hi"}

    def test_the_websocket_scope_has_no_method(self):
        """A WebSocket scope says websocket and ws, and has no HTTP method."""
        scope = websocket_scope("/echo")
        assert (scope["type"], scope["scheme"], scope["path"]) == ("websocket", "ws", "/echo")
        assert "method" not in scope


class TestServeWsgi:
    def test_serves_logs_and_stops(self):
        """wsgiref answers in its thread, logs the request to a list, and frees the port."""
        server = serve_wsgi(wsgi_app)
        try:
            assert fetch(server.url + "/hello") == b"path /hello"
            [line] = server.new_log_lines()
            assert '"GET /hello HTTP/1.1" 200 11' in line
            assert server.new_log_lines() == []
        finally:
            server.stop()
        assert not is_listening(server.port)
        assert "stopped" in repr(server)
        server.stop()

    async def test_one_thread_serves_one_request_at_a_time(self):
        """Without threads, two slow requests take twice as long; with threads, about once."""
        for threads, low, high in ((False, 0.55, 2.0), (True, 0.25, 0.55)):
            server = serve_wsgi(wsgi_app, threads=threads)
            try:
                started = time.perf_counter()
                urls = [server.url + "/slow"] * 2
                await asyncio.gather(*(asyncio.to_thread(fetch, url) for url in urls))
                assert low < time.perf_counter() - started < high, f"threads={threads}"
            finally:
                server.stop()

    def test_atexit_stops_forgotten_servers(self):
        """stop_all(), run at exit, stops every server still running."""
        server = serve_wsgi(wsgi_app)
        stop_all()
        assert not server.thread.is_alive()
        assert not is_listening(server.port)


class TestServeAsgi:
    async def test_serves_in_this_loop_and_logs(self):
        """uvicorn answers from a task of this loop and logs start, request and stop."""
        server = await serve_asgi(asgi_app)
        try:
            assert await asyncio.to_thread(fetch, server.url + "/poyo") == b"/poyo"
            lines = server.new_log_lines()
            assert "Started server process" in lines[0]
            assert f"Uvicorn running on {server.url}" in lines[1]
            assert '"GET /poyo HTTP/1.1" 200' in lines[2]
        finally:
            await server.stop()
        assert server.task.done()
        assert [line.split()[1] for line in server.new_log_lines()] == ["Shutting", "Finished"]
        assert not is_listening(server.port)
        await server.stop()

    async def test_two_servers_keep_their_own_logs(self):
        """Each server's list holds only the lines of its own requests."""
        first, second = await serve_asgi(asgi_app), await serve_asgi(asgi_app)
        try:
            await asyncio.to_thread(fetch, first.url + "/one")
            await asyncio.to_thread(fetch, second.url + "/two")
            assert "/two" not in first.log()
            assert "/one" not in second.log()
            assert "/one" in first.log()
        finally:
            await first.stop()
            await second.stop()

    async def test_serves_websockets(self):
        """A WebSocket app served by uvicorn talks to a websockets client."""
        server = await serve_asgi(echo_app)
        try:
            async with connect(f"ws://127.0.0.1:{server.port}/echo") as websocket:
                await websocket.send("ぽよ")
                assert await asyncio.wait_for(websocket.recv(), 5) == "ぽよ"
            assert '"WebSocket /echo" [accepted]' in server.log()
        finally:
            await server.stop()

    async def test_a_busy_port_is_reported(self):
        """A port already taken makes start fail with uvicorn's own words, not hang."""
        first = await serve_asgi(asgi_app)
        try:
            with pytest.raises(RuntimeError, match="address already in use"):
                await serve_asgi(asgi_app, port=first.port)
        finally:
            await first.stop()

    async def test_a_busy_port_is_reported_in_japanese(self, japanese):
        """In the Japanese edition the first line says in Japanese that uvicorn stopped; its
        own log lines follow as they are."""
        first = await serve_asgi(asgi_app)
        try:
            with pytest.raises(RuntimeError, match="address already in use") as failed:
                await serve_asgi(asgi_app, port=first.port)
            assert_japanese(str(failed.value).splitlines()[0])
        finally:
            await first.stop()
