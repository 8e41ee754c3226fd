"""What two notebooks' checks share: a frame the chat sent, parsed with json.loads()."""

from ..checks import Mistake


def find_frame_mistake(frame: object, message: str, room: str | None = None) -> None:
    """Raise a Mistake unless frame is a parsed chat frame carrying message (in room, if given)."""
    if isinstance(frame, str | bytes):
        raise Mistake("that is the frame's raw text; parse it with json.loads()")
    if not isinstance(frame, dict):
        raise Mistake(f"the answer is a {type(frame).__name__}, not a dict: use json.loads()")
    if room is not None and frame.get("room") != room:
        raise Mistake(f"the frame is from room {frame.get('room')!r}, not {room!r}")
    if frame.get("message") != message:
        raise Mistake(f"the frame carries {frame.get('message')!r}, not {message!r}")
