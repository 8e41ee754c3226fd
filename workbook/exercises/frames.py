"""What two notebooks' checks share: a frame the chat sent, parsed with json.loads()."""

from ..checks import Mistake
from ..i18n import _


def find_frame_mistake(frame: object, message: str, room: str | None = None) -> None:
    """Raise a Mistake unless frame is a parsed chat frame carrying message (in room, if given)."""
    if isinstance(frame, str | bytes):
        raise Mistake(_("that is the frame's raw text; parse it with json.loads()"))
    if not isinstance(frame, dict):
        raise Mistake(
            _(
                "the answer is a {type}, not a dict: use json.loads()",
                type=type(frame).__name__,
            )
        )
    if room is not None and frame.get("room") != room:
        raise Mistake(
            _(
                "the frame is from room {actual}, not {expected}",
                actual=repr(frame.get("room")),
                expected=repr(room),
            )
        )
    if frame.get("message") != message:
        raise Mistake(
            _(
                "the frame carries {actual}, not {expected}",
                actual=repr(frame.get("message")),
                expected=repr(message),
            )
        )
