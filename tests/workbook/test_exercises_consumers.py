"""The notebook 03 checks accept the right consumers and applications and explain wrong ones."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator
from django.contrib.auth import get_user_model
from django.urls import path

from tests.helpers import assert_japanese
from workbook.checks import ExerciseFailed
from workbook.exercises.consumers import (
    check_echo_application,
    check_shout_consumer,
    check_user_count_consumer,
)

# A sync consumer's handlers run in a worker thread that first tidies Django's database
# connections (Channels' close_old_connections), as in a real server: the tests allow it, or
# pytest-django's block fails that thread's task after the test, unseen but for a log line
pytestmark = [pytest.mark.usefixtures("in_memory_layer"), pytest.mark.django_db]


class Shout(WebsocketConsumer):
    def receive(self, text_data):
        message = json.loads(text_data)["message"]
        self.send(text_data=json.dumps({"message": message.upper()}))


class AsyncShout(AsyncWebsocketConsumer):
    async def receive(self, text_data):
        message = json.loads(text_data)["message"]
        await self.send(text_data=json.dumps({"message": message.upper()}))


class ShoutToTheRoom(WebsocketConsumer):
    def connect(self):
        async_to_sync(self.channel_layer.group_add)("shouts", self.channel_name)
        self.accept()

    def receive(self, text_data):
        message = json.loads(text_data)["message"].upper()
        event = {"type": "shout", "message": message}
        async_to_sync(self.channel_layer.group_send)("shouts", event)

    def shout(self, event):
        self.send(text_data=json.dumps({"message": event["message"]}))


class Echo(WebsocketConsumer):
    def receive(self, text_data):
        self.send(text_data=text_data)


class Refuses(WebsocketConsumer):
    def connect(self):
        self.close()


class Plain(WebsocketConsumer):
    def receive(self, text_data):
        self.send(text_data=json.loads(text_data)["message"].upper())


class Crashes(WebsocketConsumer):
    def receive(self, text_data):
        raise KeyError("text")


# Each kind of wrong shout consumer, and what its explanation says
WRONG_SHOUTS = {
    "group_send": (ShoutToTheRoom, "answer with self.send()"),
    "echo": (Echo, "unchanged; upper-case it"),
    "refuses": (Refuses, "the sender was refused"),
    "not JSON": (Plain, "not JSON"),
    "crashes": (Crashes, "raised KeyError"),
    "instance": (Shout(), "must be a class"),
}


class TestShoutConsumer:
    @pytest.mark.parametrize("consumer", [Shout, AsyncShout])
    async def test_sync_and_async_answers_pass(self, consumer):
        """A sync or async consumer that answers the sender in capitals passes."""
        assert await check_shout_consumer(consumer, must_pass=True)

    @pytest.mark.parametrize(("consumer", "says"), WRONG_SHOUTS.values(), ids=list(WRONG_SHOUTS))
    async def test_wrong_consumers_are_explained(self, consumer, says):
        """Each kind of wrong consumer fails a solution cell with a hint that names the fault."""
        with pytest.raises(ExerciseFailed, match=says):
            await check_shout_consumer(consumer, must_pass=True)

    @pytest.mark.parametrize(
        "consumer",
        [None, Shout, *(consumer for consumer, _says in WRONG_SHOUTS.values())],
        ids=["None", "right", *WRONG_SHOUTS],
    )
    async def test_the_japanese_edition_explains_in_japanese(self, consumer, japanese, capsys):
        """Every verdict on a shout consumer, right, wrong or not written, is in Japanese."""
        await check_shout_consumer(consumer)
        assert_japanese(capsys.readouterr().out)


ECHO_ROUTES = [path("ws/echo/", Echo.as_asgi())]
ECHO_APPLICATION = OriginValidator(URLRouter(ECHO_ROUTES), ["https://chat.example.com"])
# Each kind of wrong echo application, and what its explanation says
WRONG_ECHOES = {
    "no validator": (URLRouter(ECHO_ROUTES), "http://evil.example was let in"),
    "wildcard": (OriginValidator(URLRouter(ECHO_ROUTES), ["*"]), "'\\*' lets every site in"),
    "allowed hosts": (AllowedHostsOriginValidator(URLRouter(ECHO_ROUTES)), "only knows"),
    "leading slash": (URLRouter([path("/ws/echo/", Echo.as_asgi())]), "no leading slash"),
    "class": (Echo, "that is the consumer class"),
    "string": ("ws/echo/", "not an ASGI application"),
}


class TestEchoApplication:
    async def test_validated_router_passes(self):
        """A router behind an OriginValidator for chat.example.com passes."""
        assert await check_echo_application(ECHO_APPLICATION, must_pass=True)

    @pytest.mark.parametrize(("application", "says"), WRONG_ECHOES.values(), ids=list(WRONG_ECHOES))
    async def test_wrong_applications_are_explained(self, application, says):
        """Each kind of wrong application fails a solution cell with a hint that names the fault."""
        with pytest.raises(ExerciseFailed, match=says):
            await check_echo_application(application, must_pass=True)

    @pytest.mark.parametrize(
        "application",
        [None, ECHO_APPLICATION, *(application for application, _says in WRONG_ECHOES.values())],
        ids=["None", "right", *WRONG_ECHOES],
    )
    async def test_the_japanese_edition_explains_in_japanese(self, application, japanese, capsys):
        """Every verdict on an echo application is in Japanese."""
        await check_echo_application(application)
        assert_japanese(capsys.readouterr().out)


class UserCount(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()
        users = await database_sync_to_async(get_user_model().objects.count)()
        await self.send(text_data=json.dumps({"users": users}))


class UserCountInTheLoop(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send(text_data=json.dumps({"users": get_user_model().objects.count()}))


class UserCountMadeUp(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send(text_data=json.dumps({"users": 0}))


class SyncUserCount(WebsocketConsumer):
    def connect(self):
        self.accept()
        self.send(text_data=json.dumps({"users": get_user_model().objects.count()}))


# Each kind of wrong user count consumer, and what its explanation says
WRONG_COUNTS = {
    "ORM in the loop": (UserCountInTheLoop, "SynchronousOnlyOperation"),
    "made up": (UserCountMadeUp, "says 0 users, the database has 1"),
    "sync": (SyncUserCount, "inherit from AsyncWebsocketConsumer"),
}


@pytest.mark.django_db(transaction=True)
class TestUserCountConsumer:
    @pytest.fixture(autouse=True)
    def one_user(self, django_user_model):
        django_user_model.objects.create_user("poyo")

    async def test_database_sync_to_async_passes(self):
        """Counting through database_sync_to_async passes."""
        assert await check_user_count_consumer(UserCount, must_pass=True)

    @pytest.mark.parametrize(("consumer", "says"), WRONG_COUNTS.values(), ids=list(WRONG_COUNTS))
    async def test_wrong_consumers_are_explained(self, consumer, says):
        """The ORM called in the loop, a made-up count and a sync consumer are explained."""
        with pytest.raises(ExerciseFailed, match=says):
            await check_user_count_consumer(consumer, must_pass=True)

    @pytest.mark.parametrize(
        "consumer",
        [None, UserCount, *(consumer for consumer, _says in WRONG_COUNTS.values())],
        ids=["None", "right", *WRONG_COUNTS],
    )
    async def test_the_japanese_edition_explains_in_japanese(self, consumer, japanese, capsys):
        """Every verdict on a user count consumer is in Japanese."""
        await check_user_count_consumer(consumer)
        assert_japanese(capsys.readouterr().out)
