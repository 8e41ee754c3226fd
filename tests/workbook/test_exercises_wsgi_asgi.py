"""The notebook 01 checks accept the right apps and explain wrong ones."""

from urllib.parse import parse_qs

import pytest

from tests.helpers import assert_japanese, echo_app
from workbook.checks import ExerciseFailed
from workbook.exercises.wsgi_asgi import check_hello_app, check_reverse_app, check_shout_app

TEXT_PLAIN = [(b"content-type", b"text/plain; charset=utf-8")]


def hello_app(environ, start_response):
    name = parse_qs(environ["QUERY_STRING"])["name"][0]
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"Hello, {name}".encode()]


def hello_returning(body, status="200 OK", headers=(("Content-Type", "text/plain"),)):
    """A WSGI app that always answers with this body, status and headers."""

    def app(environ, start_response):
        start_response(status, list(headers))
        return body

    return app


def hello_without_start_response(environ, start_response):
    return [b"Hello, Ada"]


async def shout_app(scope, receive, send):
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": TEXT_PLAIN})
    await send({"type": "http.response.body", "body": scope["path"].upper().encode()})


def shout_sending(*messages):
    """An ASGI app that sends these messages, with the body filled in from the path."""

    async def app(scope, receive, send):
        await receive()
        for message in messages:
            body = message.get("body")
            await send({**message, "body": body(scope)} if callable(body) else message)

    return app


START = {"type": "http.response.start", "status": 200, "headers": TEXT_PLAIN}


def shout_body(scope):
    return scope["path"].upper().encode()


async def reverse_app(scope, receive, send):
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": event["text"][::-1]})
        else:
            return


async def reverse_once(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    event = await receive()
    await send({"type": "websocket.send", "text": event["text"][::-1]})


async def reverse_without_accept(scope, receive, send):
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": event["text"][::-1]})


async def reverse_as_bytes(scope, receive, send):
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            await send({"type": "websocket.send", "bytes": event["text"][::-1].encode()})


async def reverse_forever(scope, receive, send):
    """reverse_app, but after the client has gone it waits for more."""
    await reverse_app(scope, receive, send)
    await receive()


HELLO_MISTAKES = [
    (hello_without_start_response, "never called start_response"),
    (hello_returning([b"Hello, Ada"], status=200), "string like '200 OK'"),
    (hello_returning([b"Hello, Ada"], headers=[]), "no Content-Type"),
    (hello_returning([b"Hello, Ada"], headers=[("Content-Type", b"x")]), "str tuples"),
    (hello_returning("Hello, Ada"), "returned a str"),
    (hello_returning(b"Hello, Ada"), "returned bytes themselves"),
    (hello_returning(["Hello, Ada"]), "made of bytes"),
    (hello_returning([b"Hi Ada"]), "expected b'Hello, Ada'"),
    (shout_app, "async def"),
    ("hello_app", "is a str"),
]


class TestHelloApp:
    def test_the_right_app_passes(self):
        """An app that greets the name from the query string, as UTF-8 bytes, passes."""
        assert check_hello_app(hello_app, must_pass=True)

    @pytest.mark.parametrize(
        ("app", "says"),
        HELLO_MISTAKES,
    )
    def test_wrong_apps_are_explained(self, app, says, capsys):
        """Each classic WSGI mistake gets its own explanation."""
        assert not check_hello_app(app)
        assert says in capsys.readouterr().out

    def test_a_name_read_as_latin1_is_explained(self, capsys):
        """An app that mangles the Japanese name shows the body it sent for it."""

        def latin1_app(environ, start_response):
            name = parse_qs(environ["QUERY_STRING"], encoding="latin-1")["name"][0]
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"Hello, {name}".encode()]

        assert not check_hello_app(latin1_app)
        assert "for ?name=%E8%8A%B1%E5%AD%90 the body is" in capsys.readouterr().out

    def test_an_exception_is_explained(self, capsys):
        """An app that raises shows what it raised."""

        def broken(environ, start_response):
            return [environ["NAME"]]

        assert not check_hello_app(broken)
        assert "raised KeyError: 'NAME'" in capsys.readouterr().out

    def test_a_wrong_app_fails_a_solution(self):
        """A wrong app raises ExerciseFailed in a solution cell."""
        with pytest.raises(ExerciseFailed, match="never called start_response"):
            check_hello_app(hello_without_start_response, must_pass=True)


SHOUT_MISTAKES = [
    (shout_sending(), "sent nothing"),
    (shout_sending({"type": "http.response.body", "body": shout_body}), "first message"),
    (shout_sending(START, START), "twice"),
    (shout_sending(START, {"type": "http.response.bodyy"}), "not 'http.response.bodyy'"),
    (shout_sending({**START, "status": "200 OK"}), "int like 200"),
    (shout_sending({**START, "headers": [("content-type", "text/plain")]}), "bytes"),
    (shout_sending(START), "no 'http.response.body'"),
    (shout_sending(START, {"type": "http.response.body", "body": "X"}), "not str"),
    (
        shout_sending(START, {"type": "http.response.body", "body": shout_body, "more_body": True}),
        "more_body=True",
    ),
    (
        shout_sending(START, {"type": "http.response.body", "body": b"/chat/lobby"}),
        "expected b'/CHAT/LOBBY'",
    ),
    (hello_app, "must be an async def"),
]


class TestShoutApp:
    async def test_the_right_app_passes(self):
        """An app that answers the path in uppercase, as bytes, passes."""
        assert await check_shout_app(shout_app, must_pass=True)

    async def test_a_streamed_body_passes(self):
        """A body sent in two pieces (more_body=True first) passes too."""

        async def streaming(scope, receive, send):
            body = scope["path"].upper().encode()
            await send(START)
            await send({"type": "http.response.body", "body": body[:3], "more_body": True})
            await send({"type": "http.response.body", "body": body[3:]})

        assert await check_shout_app(streaming, must_pass=True)

    @pytest.mark.parametrize(
        ("app", "says"),
        SHOUT_MISTAKES,
    )
    async def test_wrong_apps_are_explained(self, app, says, capsys):
        """Each classic ASGI mistake gets its own explanation."""
        assert not await check_shout_app(app)
        assert says in capsys.readouterr().out

    async def test_an_app_that_keeps_waiting_is_explained(self, capsys):
        """An app that answers and then waits for another event is told to return."""

        async def lingering(scope, receive, send):
            await shout_app(scope, receive, send)
            await receive()

        assert not await check_shout_app(lingering)
        assert "did not return" in capsys.readouterr().out

    async def test_a_wrong_app_fails_a_solution(self):
        """A wrong app raises ExerciseFailed in a solution cell."""
        with pytest.raises(ExerciseFailed, match="sent nothing"):
            await check_shout_app(shout_sending(), must_pass=True)


REVERSE_MISTAKES = [
    (reverse_without_accept, "send {'type': 'websocket.accept'} first"),
    (reverse_once, "got 1 replies"),
    (reverse_as_bytes, "'text' key"),
    (echo_app, "to 'hello' your app replied 'hello'; expected 'olleh'"),
    (reverse_forever, "should return"),
    (shout_app, "your app sent {'type': 'http.response.start'"),
]


class TestReverseApp:
    async def test_the_right_app_passes(self):
        """An app that accepts, replies reversed text and returns on disconnect passes."""
        assert await check_reverse_app(reverse_app, must_pass=True)

    @pytest.mark.parametrize(
        ("app", "says"),
        REVERSE_MISTAKES,
    )
    async def test_wrong_apps_are_explained(self, app, says, capsys):
        """Each WebSocket mistake gets its own explanation."""
        assert not await check_reverse_app(app)
        assert says in capsys.readouterr().out

    async def test_a_wrong_app_fails_a_solution(self):
        """A wrong app raises ExerciseFailed in a solution cell."""
        with pytest.raises(ExerciseFailed, match="expected 'olleh'"):
            await check_reverse_app(echo_app, must_pass=True)


def hello_latin1(environ, start_response):
    """Reads the name as Latin-1: the Japanese name comes out mangled."""
    name = parse_qs(environ["QUERY_STRING"], encoding="latin-1")["name"][0]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {name}".encode()]


def hello_raising(environ, start_response):
    return [environ["NAME"]]


async def shout_lingering(scope, receive, send):
    await shout_app(scope, receive, send)
    await receive()


async def reverse_silent(scope, receive, send):
    await receive()


async def reverse_twice(scope, receive, send):
    """Answers each message, then sends one reply too many before returning."""
    await reverse_app(scope, receive, send)
    await send({"type": "websocket.send", "text": "extra"})


async def reverse_closing(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})
    await receive()
    await send({"type": "websocket.close"})


class TestInJapanese:
    """The Japanese edition explains every mistake above in Japanese."""

    @pytest.mark.parametrize(
        "app",
        [
            None,
            *(app for app, _says in HELLO_MISTAKES),
            hello_returning([b"Hello, Ada"], status="404 Not Found"),
            hello_latin1,
            hello_raising,
        ],
    )
    def test_hello_mistakes(self, app, japanese, capsys):
        """Each WSGI mistake, no answer and an app that raises, in Japanese."""
        assert not check_hello_app(app)
        assert_japanese(capsys.readouterr().out)

    @pytest.mark.parametrize(
        "app",
        [None, 42, *(app for app, _says in SHOUT_MISTAKES), shout_lingering],
    )
    async def test_shout_mistakes(self, app, japanese, capsys):
        """Each ASGI HTTP mistake, in Japanese."""
        assert not await check_shout_app(app)
        assert_japanese(capsys.readouterr().out)

    @pytest.mark.parametrize(
        "app",
        [
            None,
            *(app for app, _says in REVERSE_MISTAKES),
            reverse_silent,
            reverse_twice,
            reverse_closing,
        ],
    )
    async def test_reverse_mistakes(self, app, japanese, capsys):
        """Each WebSocket mistake, in Japanese."""
        assert not await check_reverse_app(app)
        assert_japanese(capsys.readouterr().out)

    async def test_right_apps_are_praised(self, japanese, capsys):
        """The ✓ lines are Japanese too."""
        assert check_hello_app(hello_app)
        assert await check_shout_app(shout_app)
        assert await check_reverse_app(reverse_app)
        assert_japanese(capsys.readouterr().out)

    async def test_a_solution_fails_in_japanese(self, japanese):
        """must_pass stops the run with the Japanese explanation."""
        with pytest.raises(ExerciseFailed) as failed:
            await check_reverse_app(echo_app, must_pass=True)
        assert_japanese(str(failed.value))
