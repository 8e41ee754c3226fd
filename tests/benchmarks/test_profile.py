"""The profiler: py-spy's raw samples sorted into cost centres, and one live run of the tool."""

import psutil
import pytest

from benchmarks import configs, profile
from benchmarks.profile import (
    BRIDGE,
    CHANNELS,
    CHANNELS_REDIS,
    DATABASE,
    JSON,
    LOOP,
    OTHER,
    OURS,
    REDIS_PY,
    SERVER,
    ProfilerUnavailable,
    aggregate,
    parse_raw,
    record_profile,
    table,
)
from tests.helpers import require
from workbook import servers
from workbook.redis_server import server_binary

LIB = "/usr/lib/python3.11"
SITE = "/srv/app/.venv/lib/python3.11/site-packages"
REPO = "/home/me/asgi-workbook"

# The event loop as daphne runs it: twisted's reactor around asyncio's loop
LOOP_STACK = ";".join(
    [
        f"<module> ({SITE}/daphne/__main__.py:3)",
        f"AsyncioSelectorReactor.run ({SITE}/twisted/internet/asyncioreactor.py:257)",
        f"BaseEventLoop.run_forever ({LIB}/asyncio/base_events.py:607)",
        f"BaseEventLoop._run_once ({LIB}/asyncio/base_events.py:1922)",
    ]
)
CALLBACK = f"{LOOP_STACK};Handle._run ({LIB}/asyncio/events.py:80)"
WORKER = ";".join(
    [
        f"Thread._bootstrap ({LIB}/threading.py:1002)",
        f"_worker ({LIB}/concurrent/futures/thread.py:81)",
        f"_WorkItem.run ({LIB}/concurrent/futures/thread.py:58)",
        f"SyncToAsync.thread_handler ({SITE}/asgiref/sync.py:522)",
        f"ChatConsumer.chat_message ({REPO}/benchmarks/blog_consumer.py:60)",
    ]
)
RAW = f"""\
{LOOP_STACK};EpollSelector.select ({LIB}/selectors.py:468) 7
{CALLBACK};await_many_dispatch ({SITE}/channels/utils.py:51);\
ensure_future ({LIB}/asyncio/tasks.py:659) 5
{CALLBACK};AsyncioSelectorReactor.addWriter ({SITE}/twisted/internet/asyncioreactor.py:187);\
BaseSelectorEventLoop.add_writer ({LIB}/asyncio/selector_events.py:335);\
EpollSelector.modify ({LIB}/selectors.py:389) 3
{CALLBACK};RedisChannelLayer.receive ({SITE}/channels_redis/core.py:251);\
BaseEventLoop.create_task ({LIB}/asyncio/base_events.py:436) 4
{CALLBACK};RedisChannelLayer.receive ({SITE}/channels_redis/core.py:300);\
MsgPackSerializer.deserialize ({SITE}/channels_redis/serializers.py:60);\
unpackb ({SITE}/msgpack/fallback.py:120) 1
{CALLBACK};Task.__step ({LIB}/asyncio/tasks.py:267) 2
{WORKER};dumps ({LIB}/json/__init__.py:231) 2
{WORKER} 1
{WORKER};close_old_connections ({SITE}/django/db/__init__.py:58) 1
Thread._bootstrap ({LIB}/threading.py:1002);_worker ({LIB}/concurrent/futures/thread.py:81) 2
{CALLBACK};style ({SITE}/click/termui.py:570) 1
{CALLBACK};InstanceSessionWrapper.send ({SITE}/channels/sessions.py:230);\
LazyObject.__getattribute__ ({SITE}/django/utils/functional.py:251) 2
<module> ({SITE}/daphne/__main__.py:1);_find_and_load (<frozen importlib._bootstrap>:1176) 9

not a sample line
"""


def test_raw_lines_are_parsed_into_frames_and_counts():
    """Each line is a stack, outermost first, and a count; other lines are skipped."""
    stacks = parse_raw(RAW)
    assert len(stacks) == 13
    frames, count = stacks[0]
    assert count == 7
    assert frames[0].function == "<module>"
    assert frames[-1].function == "EpollSelector.select"
    assert frames[-1].file == f"{LIB}/selectors.py"
    assert frames[-1].line == 468


def test_samples_are_sorted_into_cost_centres():
    """Innermost library frame decides; the loop's own frames count as the loop; imports aside."""
    result = aggregate(parse_raw(RAW))
    samples = {row["centre"]: row["samples"] for row in result["centres"]}
    assert samples == {
        # select() and a bare task step: the loop's own work, not twisted's around it
        LOOP: 7 + 2,
        # asyncio.ensure_future and Django's lazy objects called by channels count for channels
        CHANNELS: 5 + 2,
        # twisted adding a writer, down to selectors.modify
        SERVER: 3,
        # receive() making a task; msgpack inside channels_redis is msgpack's
        CHANNELS_REDIS: 4,
        JSON: 2 + 1,
        OURS: 1,
        DATABASE: 1,
        # the thread pool's own frames: asgiref's SyncToAsync is the only user
        BRIDGE: 2,
        # an installed package with no centre of its own (click, in daphne's start-up)
        OTHER: 1,
    }
    assert result["start_up_samples"] == 9
    assert result["samples"] == 31
    assert [row["centre"] for row in result["centres"][:3]] == [LOOP, CHANNELS, CHANNELS_REDIS]
    assert sum(row["share"] for row in result["centres"]) == pytest.approx(1, abs=0.001)


def test_each_centre_names_its_top_frames():
    """The frame that decided a centre's samples is named, with a short path."""
    rows = {row["centre"]: row for row in aggregate(parse_raw(RAW))["centres"]}
    assert rows[LOOP]["top"][0] == {"frame": "select (selectors.py)", "samples": 7}
    assert rows[CHANNELS]["top"] == [
        {"frame": "await_many_dispatch (channels/utils.py)", "samples": 5},
        {"frame": "send (channels/sessions.py)", "samples": 2},
    ]
    assert rows[OURS]["top"][0]["frame"] == "chat_message (benchmarks/blog_consumer.py)"
    assert rows[DATABASE]["top"][0]["frame"] == "close_old_connections (django/db/__init__.py)"


def test_table_lists_centres_largest_first():
    """The printed table has a row per centre, its share and its top frame."""
    lines = table(aggregate(parse_raw(RAW))).splitlines()
    assert lines[0].startswith("cost centre")
    assert lines[2].split()[:4] == ["asyncio", "event", "loop", "29%"]
    assert "select (selectors.py)" in lines[2]


@pytest.mark.live
async def test_live_profile_of_the_blog_names_its_centres(tmp_path):
    """A tiny fan-out under py-spy gives samples, sorted into the centres that matter."""
    require(server_binary() is not None, "no redis-server binary for the profiler's own Redis")
    samples_file = tmp_path / "samples.txt"
    try:
        result = await record_profile("blog", 20, 100, samples_file=samples_file)
    except ProfilerUnavailable as error:
        require(False, f"py-spy cannot profile here: {error}")
    assert result["load"]["delivered"] == result["load"]["expected"] == 2000
    assert result["samples"] >= 20, result
    assert samples_file.read_text().strip()
    centres = [row["centre"] for row in result["centres"]]
    assert set(centres) <= set(profile.CENTRES)
    # The blog's consumer spends its time in the per-socket machinery, not in its own code,
    # and its sync handlers show as thread hops. At ~100 samples six centres of 15-25% each
    # change places from run to run, so the claims are about shares, not about the order
    share = {row["centre"]: row["share"] for row in result["centres"]}
    machinery = {BRIDGE, LOOP, SERVER, CHANNELS, CHANNELS_REDIS, REDIS_PY}
    assert centres[0] in machinery, result["centres"]
    assert sum(share.get(centre, 0) for centre in machinery) >= 0.8, result["centres"]
    assert share.get(BRIDGE, 0) >= 0.05, result["centres"]
    # py-spy and the server are both gone
    leftovers = [child.cmdline() for child in psutil.Process().children(recursive=True)]
    assert not [command for command in leftovers if "py-spy" in " ".join(command)]


def fake_py_spy(tmp_path, body: str) -> str:
    """A stand-in for py-spy: it runs the command after "--" as body says, and records nothing."""
    script = tmp_path / "py-spy"
    script.write_text(f'#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift\n{body}\n')
    script.chmod(0o755)
    return str(script)


def server_processes(port: int) -> list[psutil.Process]:
    """Processes whose command line names the port: the raw server, if it is still there."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(port) in (process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.mark.live
@pytest.mark.parametrize(
    ("body", "says"),
    [
        # py-spy gives up (no ptrace, say) and leaves its child behind
        ('"$@" &\necho "Error: Permission Denied"\nexit 1', "exited at start"),
        # py-spy runs the server but writes no samples
        ('exec "$@"', "recorded no samples"),
    ],
    ids=["gives-up", "writes-nothing"],
)
async def test_a_failing_profiler_is_reported_and_leaves_nothing(tmp_path, monkeypatch, body, says):
    """No samples: ProfilerUnavailable says why, and no server is left running."""
    require(server_binary() is not None, "no redis-server binary for the profiler's own Redis")
    monkeypatch.setattr(profile, "py_spy", lambda: fake_py_spy(tmp_path, body))
    ports = []
    real_server = profile.profiled_server

    def remember_port(*args):
        server = real_server(*args)
        ports.append(server.port)
        return server

    monkeypatch.setattr(profile, "profiled_server", remember_port)
    with pytest.raises(ProfilerUnavailable, match=says):
        await record_profile("raw", 5, 5)
    assert ports
    assert not server_processes(ports[0])


def setup_for_describing(tmp_path) -> profile.Setup:
    """What a configuration needs to describe its server (nothing is started)."""
    return profile.Setup(redis_url="redis://127.0.0.1:1/0", database=tmp_path / "db")


@pytest.mark.parametrize("config", ["chat-2procs", "cluster-1", "no-such-config"])
def test_a_configuration_of_several_processes_or_none_is_refused(tmp_path, config):
    """py-spy records one process: only a configuration of one server can be profiled."""
    with pytest.raises(ValueError, match=f"cannot profile '{config}'"):
        profile.profiled_server(config, setup_for_describing(tmp_path), tmp_path / "s", 100)


@pytest.mark.parametrize("config", ["blog", "chat", "raw"])
def test_the_profiler_runs_the_configurations_own_server(tmp_path, monkeypatch, config):
    """py-spy's child is the server the benchmark starts: same command, folder, environment."""
    monkeypatch.setattr(profile, "py_spy", lambda: "/bin/py-spy")
    # The same free port for both descriptions, so that they can be compared whole
    monkeypatch.setattr(servers, "free_port", lambda: 8001)
    monkeypatch.setattr(configs, "free_port", lambda: 8001)
    setup = setup_for_describing(tmp_path)
    expected = configs.CONFIGS[config].server(setup)
    profiled = profile.profiled_server(config, setup, tmp_path / "samples.txt", 100)
    own = profiled.command.index("--")
    assert profiled.command[:2] == ("/bin/py-spy", "record")
    assert profiled.command[own - 2 : own] == ("-o", str(tmp_path / "samples.txt"))
    assert profiled.command[own + 1 :] == expected.command
    assert (profiled.port, profiled.cwd, profiled.migrate) == (8001, expected.cwd, expected.migrate)
    assert profiled.env == expected.env
