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

from workbook.checks import ExerciseFailed
from workbook.exercises.consumers import (
    check_echo_application,
    check_shout_consumer,
    check_user_count_consumer,
)

pytestmark = pytest.mark.usefixtures("in_memory_layer")


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


class TestShoutConsumer:
    @pytest.mark.parametrize("consumer", [Shout, AsyncShout])
    async def test_sync_and_async_answers_pass(self, consumer):
        """A sync or async consumer that answers the sender in capitals passes."""
        assert await check_shout_consumer(consumer, must_pass=True)

    @pytest.mark.parametrize(
        ("consumer", "says"),
        [
            (ShoutToTheRoom, "answer with self.send()"),
            (Echo, "unchanged; upper-case it"),
            (Refuses, "the sender was refused"),
            (Plain, "not JSON"),
            (Crashes, "raised KeyError"),
            (Shout(), "must be a class"),
        ],
        ids=["group_send", "echo", "refuses", "not JSON", "crashes", "instance"],
    )
    async def test_wrong_consumers_are_explained(self, consumer, says):
        """Each kind of wrong consumer fails a solution cell with a hint that names the fault."""
        with pytest.raises(ExerciseFailed, match=says):
            await check_shout_consumer(consumer, must_pass=True)


ECHO_ROUTES = [path("ws/echo/", Echo.as_asgi())]


class TestEchoApplication:
    async def test_validated_router_passes(self):
        """A router behind an OriginValidator for chat.example.com passes."""
        application = OriginValidator(URLRouter(ECHO_ROUTES), ["https://chat.example.com"])
        assert await check_echo_application(application, must_pass=True)

    @pytest.mark.parametrize(
        ("application", "says"),
        [
            (URLRouter(ECHO_ROUTES), "http://evil.example was let in"),
            (OriginValidator(URLRouter(ECHO_ROUTES), ["*"]), "'\\*' lets every site in"),
            (AllowedHostsOriginValidator(URLRouter(ECHO_ROUTES)), "only knows"),
            (URLRouter([path("/ws/echo/", Echo.as_asgi())]), "no leading slash"),
            (Echo, "that is the consumer class"),
            ("ws/echo/", "not an ASGI application"),
        ],
        ids=["no validator", "wildcard", "allowed hosts", "leading slash", "class", "string"],
    )
    async def test_wrong_applications_are_explained(self, application, says):
        """Each kind of wrong application fails a solution cell with a hint that names the fault."""
        with pytest.raises(ExerciseFailed, match=says):
            await check_echo_application(application, must_pass=True)


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


@pytest.mark.django_db(transaction=True)
class TestUserCountConsumer:
    @pytest.fixture(autouse=True)
    def one_user(self, django_user_model):
        django_user_model.objects.create_user("poyo")

    async def test_database_sync_to_async_passes(self):
        """Counting through database_sync_to_async passes."""
        assert await check_user_count_consumer(UserCount, must_pass=True)

    @pytest.mark.parametrize(
        ("consumer", "says"),
        [
            (UserCountInTheLoop, "SynchronousOnlyOperation"),
            (UserCountMadeUp, "says 0 users, the database has 1"),
            (SyncUserCount, "inherit from AsyncWebsocketConsumer"),
        ],
        ids=["ORM in the loop", "made up", "sync"],
    )
    async def test_wrong_consumers_are_explained(self, consumer, says):
        """The ORM called in the loop, a made-up count and a sync consumer are explained."""
        with pytest.raises(ExerciseFailed, match=says):
            await check_user_count_consumer(consumer, must_pass=True)
