"""Checks for notebook 08 (beyond one machine)."""

import sys
from collections.abc import Callable, Mapping, Sequence

from ..checks import Mistake, Verdict, check_answer
from ..i18n import _
from ..paths import CHATPROJECT_DIR

WORKER_PREFIX = "chat-"


def _workers(services: Mapping[str, str]) -> dict[str, str]:
    """The workers' addresses and names, from cluster.services()."""
    return {address: name for name, address in services.items() if name.startswith(WORKER_PREFIX)}


def _find_worker_of_mistake(
    worker_of: Callable, entries: Sequence[Mapping[str, str]], services: Mapping[str, str]
) -> None:
    """Raise a Mistake saying what is wrong with worker_of for the first entry it gets wrong."""
    if not callable(worker_of):
        raise Mistake(_("worker_of is a function: def worker_of(entry): …"))
    workers = _workers(services)
    # Every worker once, as nginx would log it, besides the live entries
    made_up = [{**entries[0], "upstream": address} for address in workers] if entries else []
    for entry in [*entries, *made_up]:
        expected = workers[entry["upstream"]]
        answer = worker_of(dict(entry))
        if answer == expected:
            continue
        if answer == entry["upstream"]:
            raise Mistake(
                _(
                    "{answer} is the worker's address: return its name ({expected}), as "
                    "cluster.services() names it",
                    answer=answer,
                    expected=expected,
                )
            )
        if answer in (entry.get("client"), services.get("nginx")):
            raise Mistake(
                _(
                    "the client field is where the request came from; the upstream field "
                    "says which worker nginx handed it to"
                )
            )
        raise Mistake(
            _(
                "the entry with upstream {upstream} was served by {expected}, not {answer}",
                upstream=entry["upstream"],
                expected=expected,
                answer=repr(answer),
            )
        )


def check_worker_of(
    worker_of: object,
    entries: Sequence[Mapping[str, str]],
    services: Mapping[str, str],
    must_pass: bool = False,
) -> Verdict:
    """Exercise 08.1: from an nginx access-log entry to the name of the worker that served it."""
    return check_answer(
        worker_of,
        lambda function: _find_worker_of_mistake(function, entries, services),
        must_pass,
        if_none=_("write worker_of(entry): find entry['upstream'] among cluster.services()"),
        well_done=_("Correct: nginx's upstream field names the worker that served the socket."),
    )


def parse_sentinel_url(url: str):
    """The chat's own reading of a redis+sentinel:// URL (chatproject/chatproject/sentinel.py)."""
    if str(CHATPROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(CHATPROJECT_DIR))
    from chatproject.sentinel import parse_sentinel_url as parse

    return parse(url)


def _sentinels(services: Mapping[str, str]) -> list[tuple[str, int]]:
    """The Sentinels' (host, port), from cluster.services()."""
    found = []
    for name, address in services.items():
        if name.startswith("sentinel"):
            host, _, port = address.rpartition(":")
            found.append((host, int(port)))
    return found


def _find_sentinel_url_mistake(
    url: object, sentinels: Sequence[tuple[str, int]], primary: tuple[str, int], master: str
) -> None:
    """Raise a Mistake saying what is wrong with url as the chat's REDIS_URL."""
    if not isinstance(url, str):
        raise Mistake(_("REDIS_URL is a string, not a {type_name}", type_name=type(url).__name__))
    if url.partition("://")[0].lower() in ("redis", "rediss"):
        raise Mistake(
            _(
                "redis:// names one Redis server: the chat would lose it with its primary. "
                "Start with redis+sentinel:// and list the Sentinels"
            )
        )
    try:
        parsed = parse_sentinel_url(url)
    except ValueError as error:
        raise Mistake(_("the chat cannot read it: {error}", error=error)) from None
    given = set(parsed.sentinels)
    if tuple(primary) in given:
        raise Mistake(
            _(
                "{host}:{port} is the primary's address, which changes on a failover; "
                "the URL lists the Sentinels, who know where the primary is",
                host=primary[0],
                port=primary[1],
            )
        )
    unknown = given - set(map(tuple, sentinels))
    if unknown:
        host, port = sorted(unknown)[0]
        raise Mistake(_("no Sentinel listens at {host}:{port}", host=host, port=port))
    if len(given) < len(sentinels):
        raise Mistake(
            _(
                "list all {count} Sentinels: with one, the chat cannot find its primary "
                "while that Sentinel is down",
                count=len(sentinels),
            )
        )
    if parsed.master_name != master:
        raise Mistake(
            _(
                "the Sentinels watch the primary under the name {master}, not {name}",
                master=master,
                name=parsed.master_name,
            )
        )


def check_sentinel_url(
    url: object,
    services: Mapping[str, str],
    primary: tuple[str, int],
    master: str = "mymaster",
    must_pass: bool = False,
) -> Verdict:
    """Exercise 08.2: the REDIS_URL that finds the primary through the Sentinels among
    services (cluster.services())."""
    sentinels = _sentinels(services)
    return check_answer(
        url,
        lambda value: _find_sentinel_url_mistake(value, sentinels, primary, master),
        must_pass,
        if_none=_("write redis+sentinel://host:port,host:port,host:port/mymaster/0"),
        well_done=_(
            "Correct: the chat asks these Sentinels where the primary is, now and after "
            "each failover."
        ),
    )


# (sent, read): one lost, one lost behind a message shown twice, none lost but out of order
LOST_CASES = [
    (["a", "b", "c"], ["a", "c"]),
    (["a", "b", "c"], ["a", "a", "c"]),
    (["a", "b", "c"], ["b", "a", "c"]),
]


def lost_count(sent: Sequence[str], read: Sequence[str]) -> int:
    """How many of the messages sent never arrived."""
    arrived = set(read)
    return sum(message not in arrived for message in sent)


def _find_lost_mistake(lost_messages: Callable, sent: Sequence[str], read: Sequence[str]) -> None:
    """Raise a Mistake saying what is wrong with lost_messages on the live run or a made-up one."""
    if not callable(lost_messages):
        raise Mistake(_("lost_messages is a function: def lost_messages(sent, read): …"))
    for case_sent, case_read in [(sent, read), *LOST_CASES]:
        answer = lost_messages(list(case_sent), list(case_read))
        expected = lost_count(case_sent, case_read)
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise Mistake(
                _(
                    "lost_messages returns a count, not a {type_name}",
                    type_name=type(answer).__name__,
                )
            )
        if answer == expected:
            continue
        if answer == len(case_sent) - len(case_read):
            raise Mistake(
                _(
                    "sent {sent}, read {read}: the difference of the lengths is {answer}, "
                    "but a message shown twice hides a lost one. Count the messages sent "
                    "that are not among those read",
                    sent=list(case_sent),
                    read=list(case_read),
                    answer=answer,
                )
            )
        raise Mistake(
            _(
                "sent {sent}, read {read}: {expected} lost, not {answer}",
                sent=list(case_sent),
                read=list(case_read),
                expected=expected,
                answer=answer,
            )
        )


def check_lost_messages(
    lost_messages: object, sent: Sequence[str], read: Sequence[str], must_pass: bool = False
) -> Verdict:
    """Exercise 08.3: count the messages sent that never arrived, from the data."""
    lost = lost_count(sent, read)
    return check_answer(
        lost_messages,
        lambda function: _find_lost_mistake(function, sent, read),
        must_pass,
        if_none=_("write lost_messages(sent, read): the messages of sent missing from read"),
        well_done=_(
            "Correct: {lost} of the {count} messages lost during the drain.",
            lost=lost,
            count=len(sent),
        ),
    )
