"""The checks of notebook 08 accept the right answers and explain wrong ones."""

import pytest

from tests.helpers import assert_japanese
from workbook.checks import ExerciseFailed
from workbook.exercises.cluster import (
    LOST_CASES,
    check_lost_messages,
    check_sentinel_url,
    check_worker_of,
    lost_count,
)

# cluster.services() of a running cluster, and nginx's entries for three sockets
SERVICES = {
    "nginx": "127.0.0.1:8080",
    "chat-1": "127.0.0.2:8001",
    "chat-2": "127.0.0.3:8002",
    "chat-3": "127.0.0.4:8003",
    "postgres": "127.0.0.5:5432",
    "redis-primary": "127.0.0.11:6379",
    "redis-replica": "127.0.0.12:6380",
    "sentinel-1": "127.0.0.21:26379",
    "sentinel-2": "127.0.0.22:26380",
    "sentinel-3": "127.0.0.23:26381",
}
ENTRIES = [
    {"client": "127.0.0.1", "upstream": upstream, "status": "101", "request": "GET /ws/ HTTP/1.1"}
    for upstream in ("127.0.0.3:8002", "127.0.0.4:8003", "127.0.0.2:8001")
]
SENTINELS = [("127.0.0.21", 26379), ("127.0.0.22", 26380), ("127.0.0.23", 26381)]
PRIMARY = ("127.0.0.11", 6379)
RIGHT_URL = "redis+sentinel://127.0.0.21:26379,127.0.0.22:26380,127.0.0.23:26381/mymaster/0"


def right_worker_of(entry):
    return next(name for name, address in SERVICES.items() if address == entry["upstream"])


# Each kind of wrong worker_of, and what its explanation says
WRONG_WORKER_OFS = {
    "address": (lambda entry: entry["upstream"], "address"),
    "client": (lambda entry: entry["client"], "client"),
    "always chat-1": (lambda entry: "chat-1", "was served by"),
    "not a function": ("chat-2", "function"),
    "raises": (lambda entry: entry["worker"], "KeyError"),
}
# Each kind of wrong REDIS_URL, and what its explanation says
WRONG_URLS = {
    "one server": ("redis://127.0.0.11:6379/0", "redis+sentinel://"),
    "the primary": ("redis+sentinel://127.0.0.11:6379/mymaster/0", "primary's address"),
    "one sentinel": ("redis+sentinel://127.0.0.21:26379/mymaster/0", "all 3 Sentinels"),
    "wrong port": ("redis+sentinel://127.0.0.21:26379,127.0.0.22:1/mymaster/0", "no Sentinel"),
    "wrong master": (RIGHT_URL.replace("mymaster", "primary"), "mymaster"),
    "no master": ("redis+sentinel://127.0.0.21:26379,127.0.0.22:26380,127.0.0.23:26381", "read"),
    "a list": (SENTINELS, "string"),
}
SENT = [f"line {n}" for n in range(10)]


def length_difference(sent, read):
    return len(sent) - len(read)


# Each kind of wrong lost_messages, and what its explanation says
WRONG_LOSTS = {
    "lengths": (length_difference, "shown twice"),
    "always zero": (lambda sent, read: 0, "lost, not 0"),
    "the list": (lambda sent, read: [m for m in sent if m not in read], "count"),
    "not a function": (0, "function"),
}


class TestWorkerOf:
    def test_the_upstream_looked_up_among_the_services_passes(self):
        """The name of the service whose address is the entry's upstream."""
        assert check_worker_of(right_worker_of, ENTRIES, SERVICES, must_pass=True)

    @pytest.mark.parametrize(
        ("answer", "says"), WRONG_WORKER_OFS.values(), ids=list(WRONG_WORKER_OFS)
    )
    def test_wrong_answers_are_explained(self, answer, says, capsys):
        """An address, the client, one name for all, no function, a function that raises."""
        assert not check_worker_of(answer, ENTRIES, SERVICES)
        assert says in capsys.readouterr().out

    def test_made_up_entries_catch_a_guess_that_fits_the_live_ones(self, capsys):
        """A function right for the live entries alone still fails on the others."""
        live = ENTRIES[:1]
        assert not check_worker_of(lambda entry: "chat-2", live, SERVICES)
        assert "was served by" in capsys.readouterr().out

    @pytest.mark.parametrize(
        "answer",
        [None, right_worker_of, *(answer for answer, _says in WRONG_WORKER_OFS.values())],
        ids=["None", "right", *WRONG_WORKER_OFS],
    )
    def test_the_japanese_edition_explains_in_japanese(self, answer, japanese, capsys):
        """Every verdict on worker_of, right, wrong or not written, is in Japanese."""
        check_worker_of(answer, ENTRIES, SERVICES)
        assert_japanese(capsys.readouterr().out)


class TestSentinelURL:
    @pytest.mark.parametrize(
        "url",
        [
            RIGHT_URL,
            RIGHT_URL.removesuffix("/0"),
            "redis+sentinel://127.0.0.23:26381,127.0.0.21:26379,127.0.0.22:26380/mymaster",
        ],
        ids=["as written", "db left out", "another order"],
    )
    def test_the_three_sentinels_and_the_master_name_pass(self, url):
        assert check_sentinel_url(url, SERVICES, PRIMARY, must_pass=True)

    @pytest.mark.parametrize(("url", "says"), WRONG_URLS.values(), ids=list(WRONG_URLS))
    def test_wrong_answers_are_explained(self, url, says, capsys):
        assert not check_sentinel_url(url, SERVICES, PRIMARY)
        assert says in capsys.readouterr().out

    def test_solution_cell_raises_on_a_wrong_answer(self):
        with pytest.raises(ExerciseFailed, match="primary's address"):
            check_sentinel_url(WRONG_URLS["the primary"][0], SERVICES, PRIMARY, must_pass=True)

    @pytest.mark.parametrize(
        "url",
        [None, RIGHT_URL, *(url for url, _says in WRONG_URLS.values())],
        ids=["None", "right", *WRONG_URLS],
    )
    def test_the_japanese_edition_explains_in_japanese(self, url, japanese, capsys):
        """Every verdict on a REDIS_URL is in Japanese."""
        check_sentinel_url(url, SERVICES, PRIMARY)
        assert_japanese(capsys.readouterr().out)


class TestLostMessages:
    def test_lost_count_of_the_made_up_runs(self):
        """One lost; one lost behind a repeat; none lost, out of order."""
        assert [lost_count(sent, read) for sent, read in LOST_CASES] == [1, 1, 0]

    def test_counting_what_is_missing_passes(self, capsys):
        """Counted from the data; the verdict says how many of how many were lost."""

        def lost_messages(sent, read):
            return len(set(sent) - set(read))

        assert check_lost_messages(lost_messages, SENT, SENT, must_pass=True)
        assert "0 of the 10" in capsys.readouterr().out

    @pytest.mark.parametrize(("answer", "says"), WRONG_LOSTS.values(), ids=list(WRONG_LOSTS))
    def test_wrong_answers_are_explained(self, answer, says, capsys):
        """The difference of lengths, a constant 0, a list, no function."""
        assert not check_lost_messages(answer, SENT, SENT)
        assert says in capsys.readouterr().out

    def test_solution_cell_raises_on_a_wrong_answer(self):
        with pytest.raises(ExerciseFailed, match="shown twice"):
            check_lost_messages(length_difference, SENT, SENT, must_pass=True)

    @pytest.mark.parametrize(
        "answer",
        [None, lost_count, *(answer for answer, _says in WRONG_LOSTS.values())],
        ids=["None", "right", *WRONG_LOSTS],
    )
    def test_the_japanese_edition_explains_in_japanese(self, answer, japanese, capsys):
        """Every verdict on lost_messages is in Japanese."""
        check_lost_messages(answer, SENT, SENT[:-1])
        assert_japanese(capsys.readouterr().out)

    def test_a_solution_cell_stops_in_japanese(self, japanese):
        with pytest.raises(ExerciseFailed) as failure:
            check_lost_messages(length_difference, SENT, SENT, must_pass=True)
        assert_japanese(str(failure.value))
