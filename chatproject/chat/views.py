from asgiref.sync import async_to_sync
from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import URLResolver, get_script_prefix, reverse
from django.urls.resolvers import RegexPattern

from . import frames, routing
from .authors import (
    GUEST_COOKIE,
    GUEST_COOKIE_SECONDS,
    guest_name_in,
    new_guest_name,
    signed_guest_name,
)
from .forms import RoomForm
from .outage import REDIS_ERRORS
from .presence import presence_store
from .rooms import MAX_ROOM_NAME_LENGTH, group_name_for


def index(request):
    """Ask for a room; a name sent with ?room= leads to its room, or is answered why not."""
    form = RoomForm(request.GET) if "room" in request.GET else RoomForm()
    if form.is_bound and form.is_valid():
        return redirect("chat:room", room_name=form.cleaned_data["room"])
    context = {"form": form, "max_room_name_length": MAX_ROOM_NAME_LENGTH}
    return render(request, "chat/index.html", context)


def room(request, room_name):
    page_path = reverse("chat:room", args=[room_name])
    socket_path = reverse_websocket("room", room_name=room_name)
    context = {
        "room_name": room_name,
        # Relative, so the page finds its socket under any prefix a proxy adds to the URL
        "socket_path": relative_path(page_path, socket_path),
        "max_message_length": frames.MAX_MESSAGE_LENGTH,
        "recent_count": frames.MAX_RECENT // 2,
    }
    if request.user.is_authenticated:
        return render(request, "chat/room.html", context)
    # The socket reads the same cookie: this is the name the room will show
    known = guest_name_in(request.COOKIES)
    context["guest_name"] = known or new_guest_name(taken=present_names(room_name))
    response = render(request, "chat/room.html", context)
    if not known:
        remember_guest(response, context["guest_name"])
    return response


def present_names(room_name: str) -> set[str]:
    """Who is in the room now, so that a new guest's name is not one of theirs."""
    try:
        return set(async_to_sync(presence_store().names)(group_name_for(room_name)))
    except REDIS_ERRORS:
        # The page still opens; its socket will say that the room is out of reach
        return set()


def remember_guest(response, name: str) -> None:
    """Keep a new guest's name in a signed cookie: a session row for it would be written
    on every visit of every browser without cookies, and kept for two weeks."""
    response.set_cookie(
        GUEST_COOKIE,
        signed_guest_name(name),
        max_age=GUEST_COOKIE_SECONDS,
        # The same path and security as the session's cookie (Jupyter's proxy, HTTPS)
        path=settings.SESSION_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def reverse_websocket(name: str, **kwargs: str) -> str:
    """reverse() for the WebSocket routes in routing.py, script prefix included."""
    resolver = URLResolver(RegexPattern(r"^/"), routing.websocket_urlpatterns)
    return get_script_prefix() + resolver.reverse(name, **kwargs)


def relative_path(from_path: str, to_path: str) -> str:
    """The relative URL that leads from the page at from_path to to_path (both absolute).

    It climbs only out of the folders the two do not share, so that it stays under a
    prefix such as /proxy/8001/ whether Django was told about it or not.
    """
    folders, targets = from_path.split("/")[1:-1], to_path.split("/")[1:]
    shared = 0
    while shared < min(len(folders), len(targets) - 1) and folders[shared] == targets[shared]:
        shared += 1
    return "../" * (len(folders) - shared) + "/".join(targets[shared:])
