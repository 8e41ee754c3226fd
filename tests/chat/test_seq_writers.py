"""Seqs under concurrent writers: several OS processes save into one room through the
chat's own save_message, while a reader watches what is committed; on a SQLite file and on
a PostgreSQL database (the test run's own server, tests/postgres.py).

Each writer is a process of its own (as daphne processes are), with its own Django and its
own connection; nothing here is in-process. The reader is a plain connection of the
database's own driver.
"""

import multiprocessing
import os
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

import psycopg
import pytest

WRITERS = 4
SAVES_EACH = 50
ROOM = "busy room"
# Longest the whole run may take; the writers usually finish in a few seconds
DEADLINE = 120.0


@dataclass
class Database:
    """Where the writers save: their environment, and a reader's connection to it."""

    env: dict[str, str]
    connect: Callable
    # The driver's query parameter marker
    mark: str


@pytest.fixture(params=["sqlite", "postgres"])
def database(request) -> Database:
    if request.param == "sqlite":
        path = request.getfixturevalue("chat_database")
        return Database(
            {"DJANGO_SQLITE_PATH": path}, lambda: sqlite3.connect(path, timeout=DEADLINE), "?"
        )
    url = request.getfixturevalue("postgres_database")
    # Autocommit: every query a snapshot of its own, of what is committed by then
    return Database({"DATABASE_URL": url}, lambda: psycopg.connect(url, autocommit=True), "%s")


def save_as_writer(env: dict[str, str], writer: int, start) -> None:
    """In a child process: set Django up on the database, wait for the start, save
    SAVES_EACH."""
    os.environ.update(env)
    import django

    django.setup()
    from chat.authors import Author
    from chat.history import save_message

    start.wait(timeout=DEADLINE)
    for n in range(SAVES_EACH):
        save_message(ROOM, Author(f"writer-{writer}"), f"{writer}:{n}")


def committed(reader, database: Database) -> list[tuple[int, int, str]]:
    """The room's committed messages as (seq, id, text), in seq order."""
    return reader.execute(
        "SELECT m.seq, m.id, m.text FROM chat_message m JOIN chat_room r ON m.room_id = r.id"
        f" WHERE r.name = {database.mark} ORDER BY m.seq",
        (ROOM,),
    ).fetchall()


def last_seq(reader, database: Database) -> int:
    query = f"SELECT last_seq FROM chat_room WHERE name = {database.mark}"
    return reader.execute(query, (ROOM,)).fetchone()[0]


def start_writers(database: Database) -> tuple[list, object]:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(WRITERS + 1)
    writers = [
        spawn.Process(target=save_as_writer, args=(database.env, n, start)) for n in range(WRITERS)
    ]
    for process in writers:
        process.start()
    return writers, start


def watch_until_all_committed(database: Database, total: int) -> list[list[int]]:
    """Read the room again and again until total messages are in; every snapshot's seqs."""
    snapshots = []
    with closing(database.connect()) as reader:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            snapshots.append([seq for seq, _, _ in committed(reader, database)])
            if len(snapshots[-1]) >= total:
                break
    return snapshots


def test_concurrent_writers_get_gap_free_seqs_in_commit_order(database):
    """4 processes × 50 saves: seqs 1..200, none twice; a reader never sees a seq before
    the seqs below it, and each writer's messages keep the order it saved them in."""
    total = WRITERS * SAVES_EACH
    writers, start = start_writers(database)
    try:
        start.wait(timeout=DEADLINE)
        snapshots = watch_until_all_committed(database, total)
    finally:
        for process in writers:
            process.join(timeout=DEADLINE)
            process.kill()
    assert [process.exitcode for process in writers] == [0] * WRITERS

    with closing(database.connect()) as reader:
        rows = committed(reader, database)
        assert last_seq(reader, database) == total
    assert [seq for seq, _, _ in rows] == list(range(1, total + 1))

    # Commit order: whatever a reader saw committed was always 1..k, never with a hole
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in snapshots)
    partial = [seqs for seqs in snapshots if 0 < len(seqs) < total]
    assert partial, "the reader never caught the writers half way; nothing was checked"

    # Ids were given in the same order as seqs, and each writer's saves stay in its order
    assert [row_id for _, row_id, _ in rows] == sorted(row_id for _, row_id, _ in rows)
    for writer in range(WRITERS):
        mine = [int(text.split(":")[1]) for _, _, text in rows if text.startswith(f"{writer}:")]
        assert mine == list(range(SAVES_EACH))
