from django.shortcuts import redirect, render
from django.urls import URLResolver, get_script_prefix, reverse
from django.urls.resolvers import RegexPattern

from . import frames, routing
from .authors import guest_name_for
from .forms import RoomForm
from .rooms import MAX_ROOM_NAME_LENGTH


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
    if not request.user.is_authenticated:
        # The socket reads the same session: this is the name the room will show
        context["guest_name"] = guest_name_for(request.session)
    return render(request, "chat/room.html", context)


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
