"""Checks for notebook 06 (persistence, users, and surviving failures)."""

from typing import Any

from ..checks import Mistake, Verdict, check_answer
from ..i18n import N_, _


def history_page_size() -> int:
    """Most messages one history frame carries: the chat's own number, never a copy."""
    # chat is importable once setup_django() has put chatproject/ on sys.path
    from chat.frames import HISTORY_PAGE_SIZE

    return HISTORY_PAGE_SIZE


async def ids_after(room: str, after: int) -> list[int]:
    """The ids of a room's messages above after, oldest first, read from the database."""
    # chat is importable once setup_django() has put chatproject/ on sys.path
    from chat.models import Message

    found = Message.objects.filter(room__name=room, id__gt=after).order_by("id")
    return [pk async for pk in found.values_list("id", flat=True)]


def _find_missed_ids_mistake(answer: object, expected: list[int], after: int) -> None:
    """Raise a Mistake saying what is wrong with answer as the list of ids above after."""
    if isinstance(answer, dict) and answer.get("type") == "history":
        raise Mistake(_("this is a whole history frame: collect the ids of its messages (m['id'])"))
    if isinstance(answer, str | bytes) or not hasattr(answer, "__iter__"):
        raise Mistake(
            _(
                "missed_ids is of type {type_name}: make it a list of message ids",
                type_name=type(answer).__name__,
            )
        )
    ids = list(answer)
    if any(isinstance(item, dict) for item in ids):
        raise Mistake(_("these are whole messages: keep only each message's 'id'"))
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in ids):
        raise Mistake(_("the list should hold ids, whole numbers such as 1234"))
    if ids == expected:
        return
    if not ids:
        raise Mistake(
            _(
                "the list is empty; the room has {count} messages after {after}",
                count=len(expected),
                after=after,
            )
        )
    if after in ids:
        raise Mistake(
            _(
                "?after={after} means the ids above {after}: {after} itself is not one of them",
                after=after,
            )
        )
    if len(set(ids)) < len(ids):
        raise Mistake(
            _(
                "some ids are there twice: ask for the next page after the last id of the page "
                "you just read"
            )
        )
    if sorted(ids) == expected:
        raise Mistake(
            _("every id is there, but out of order: pages come oldest first, keep that order")
        )
    page_size = history_page_size()
    if ids == expected[: len(ids)] and len(ids) % page_size == 0:
        pages = len(ids) // page_size
        pages_of = (
            _("{pages} pages of {size}", pages=pages, size=page_size)
            if pages > 1
            else _("{pages} page of {size}", pages=pages, size=page_size)
        )
        raise Mistake(
            _(
                'these are only the first {count} ids ({pages_of}), and the last page said "more": '
                'true. Send {{"type": "history", "after": <its last id>}} on the same socket and '
                "read the next history frame",
                count=len(ids),
                pages_of=pages_of,
            )
        )
    missing = sorted(set(expected) - set(ids))
    extra = sorted(set(ids) - set(expected))
    details = _(
        "{count} ids, the room has {in_room} after {after}",
        count=len(ids),
        in_room=len(expected),
        after=after,
    )
    if missing:
        more = " …" if len(missing) > 3 else ""
        details = _("{details}; missing {ids}", details=details, ids=f"{missing[:3]}{more}")
    if extra:
        details = _(
            "{details}; not in the room after {after}: {ids}",
            details=details,
            after=after,
            ids=extra[:3],
        )
    raise Mistake(details)


async def check_missed_ids(
    missed_ids: object, room: str, after: int, must_pass: bool = False
) -> Verdict:
    """Exercise 06.1: every id above after in the room, each once, oldest first (all pages)."""
    expected = await ids_after(room, after)
    pages = max(1, -(-len(expected) // history_page_size()))
    in_pages = (
        _("in {pages} pages", pages=pages) if pages > 1 else _("in {pages} page", pages=pages)
    )
    return check_answer(
        missed_ids,
        lambda ids: _find_missed_ids_mistake(ids, expected, after),
        must_pass,
        if_none=_(
            "connect with ?after={after}, read history frames until one says more: false",
            after=after,
        ),
        well_done=_(
            "Correct: all {count} ids after {after}, {in_pages}, each once.",
            count=len(expected),
            after=after,
            in_pages=in_pages,
        ),
    )


def history_frame(ids: list[int], room: str = "demoroom") -> dict:
    """A history frame as the chat sends it, with messages of these ids."""
    messages = [
        {
            "type": "message",
            "id": pk,
            "message": f"message {pk}",
            "room": room,
            "author": "alice",
            "guest": False,
            "time": "2026-11-24T14:33:07.343+00:00",
        }
        for pk in ids
    ]
    return {"type": "history", "room": room, "messages": messages, "more": False}


# (what the page shows, the ids in the history frame, what it shows afterwards, the case)
MERGE_CASES = [
    ([1, 2, 3], [4, 5], [1, 2, 3, 4, 5], N_("new messages only")),
    ([1, 2, 3, 4], [3, 4, 5, 6], [1, 2, 3, 4, 5, 6], N_("a history that overlaps the page")),
    ([1, 2], [1, 2], [1, 2], N_("nothing new")),
    ([], [7, 8], [7, 8], N_("an empty page")),
    ([1, 2], [], [1, 2], N_("an empty history")),
    ([10, 14], [14, 20, 31], [10, 14, 20, 31], N_("ids with gaps (other rooms use ids too)")),
]


def _find_merge_mistake(function: object) -> None:
    """Raise a Mistake saying what is wrong with function(shown_ids, frame) as a page's next ids."""
    if not callable(function):
        raise Mistake(
            _(
                "merge_history is of type {type_name}: define a function with def and "
                "assign the function itself (no parentheses)",
                type_name=type(function).__name__,
            )
        )
    for shown, incoming, expected, case in MERGE_CASES:
        answer = function(list(shown), history_frame(incoming))
        if answer is None:
            raise Mistake(_("it returned None: return the list of ids the page shows afterwards"))
        if answer == expected:
            continue
        answer = list(answer)
        if any(isinstance(item, dict) for item in answer):
            raise Mistake(_("it returned messages: return their ids"))
        returned = _(
            "for {case}, shown {shown} and a history of {incoming}, it returned {answer}",
            case=_(case),
            shown=shown,
            incoming=incoming,
            answer=answer,
        )
        if len(set(answer)) < len(answer):
            raise Mistake(_("{returned}: an id is there twice", returned=returned))
        raise Mistake(_("{returned}, not {expected}", returned=returned, expected=expected))


def check_merge_history(function: object, must_pass: bool = False) -> Verdict:
    """Exercise 06.3: a page's ids merged with a history frame's, each once, in order."""
    return check_answer(
        function,
        _find_merge_mistake,
        must_pass,
        if_none=_("define merge_history(shown_ids, frame)"),
        well_done=_("Correct: all {count} cases, overlaps included.", count=len(MERGE_CASES)),
    )


def _find_present_mistake(answer: object, users: list[str]) -> None:
    """Raise a Mistake saying what is wrong with answer as the people a presence frame lists."""
    if isinstance(answer, str | bytes) or not hasattr(answer, "__iter__"):
        raise Mistake(
            _(
                "present is of type {type_name}: make it a list of names",
                type_name=type(answer).__name__,
            )
        )
    names = list(answer)
    if any(isinstance(name, tuple | list) for name in names):
        raise Mistake(_("these are (entry, score) pairs: leave out withscores=True"))
    if any(isinstance(name, bytes) for name in names):
        raise Mistake(
            _("these are bytes: use the client r (decode_responses=True) or .decode() them")
        )
    if not all(isinstance(name, str) for name in names):
        raise Mistake(_("the list should hold names, such as 'alice'"))
    if any(name.startswith("[") for name in names):
        raise Mistake(
            _('these are whole entries: each is JSON ["name", "channel"]: json.loads() it')
        )
    if sorted(set(names)) == sorted(users) and len(names) > len(set(names)):
        raise Mistake(
            _("a name is there twice: someone with two tabs is one person, list each name once")
        )
    if sorted(names) != sorted(users):
        raise Mistake(
            _(
                "the presence frame lists {users}, your list is {names}",
                users=users,
                names=sorted(names),
            )
        )


def check_present_users(
    present: object, presence_frame: dict[str, Any], must_pass: bool = False
) -> Verdict:
    """Exercise 06.2: who is in the room, read from Redis, is who the presence frame lists."""
    users = presence_frame["users"]
    return check_answer(
        present,
        lambda names: _find_present_mistake(names, users),
        must_pass,
        if_none=_("ZRANGE the room's presence key and read the names"),
        well_done=_("Correct: {names}, as the presence frame says.", names=", ".join(users)),
    )
