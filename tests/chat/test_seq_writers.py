"""Seqs under concurrent writers: several OS processes save into one room of one SQLite
file through the chat's own save_message, while a reader watches what is committed.

Each writer is a process of its own (as daphne processes are), with its own Django and its
own connection; nothing here is in-process.
"""

import multiprocessing
import os
import sqlite3
import time

WRITERS = 4
SAVES_EACH = 50
ROOM = "busy room"
# Longest the whole run may take; the writers usually finish in a few seconds
DEADLINE = 120.0


def save_as_writer(database: str, writer: int, start) -> None:
    """In a child process: set Django up on database, wait for the start, save SAVES_EACH."""
    os.environ["DJANGO_SQLITE_PATH"] = database
    import django

    django.setup()
    from chat.authors import Author
    from chat.history import save_message

    start.wait(timeout=DEADLINE)
    for n in range(SAVES_EACH):
        save_message(ROOM, Author(f"writer-{writer}"), f"{writer}:{n}")


def committed(reader: sqlite3.Connection) -> list[tuple[int, int, str]]:
    """The room's committed messages as (seq, id, text), in seq order."""
    return reader.execute(
        "SELECT m.seq, m.id, m.text FROM chat_message m JOIN chat_room r ON m.room_id = r.id"
        " WHERE r.name = ? ORDER BY m.seq",
        (ROOM,),
    ).fetchall()


def start_writers(database: str) -> tuple[list, object]:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(WRITERS + 1)
    writers = [
        spawn.Process(target=save_as_writer, args=(database, n, start)) for n in range(WRITERS)
    ]
    for process in writers:
        process.start()
    return writers, start


def watch_until_all_committed(database: str, total: int) -> list[list[int]]:
    """Read the room again and again until total messages are in; every snapshot's seqs."""
    snapshots = []
    with sqlite3.connect(database, timeout=DEADLINE) as reader:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            snapshots.append([seq for seq, _, _ in committed(reader)])
            if len(snapshots[-1]) >= total:
                break
    return snapshots


def test_concurrent_writers_get_gap_free_seqs_in_commit_order(chat_database):
    """4 processes × 50 saves: seqs 1..200, none twice; a reader never sees a seq before
    the seqs below it, and each writer's messages keep the order it saved them in."""
    total = WRITERS * SAVES_EACH
    writers, start = start_writers(chat_database)
    try:
        start.wait(timeout=DEADLINE)
        snapshots = watch_until_all_committed(chat_database, total)
    finally:
        for process in writers:
            process.join(timeout=DEADLINE)
            process.kill()
    assert [process.exitcode for process in writers] == [0] * WRITERS

    with sqlite3.connect(chat_database) as reader:
        rows = committed(reader)
        (last_seq,) = reader.execute(
            "SELECT last_seq FROM chat_room WHERE name = ?", (ROOM,)
        ).fetchone()
    assert [seq for seq, _, _ in rows] == list(range(1, total + 1))
    assert last_seq == total

    # Commit order: whatever a reader saw committed was always 1..k, never with a hole
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in snapshots)
    partial = [seqs for seqs in snapshots if 0 < len(seqs) < total]
    assert partial, "the reader never caught the writers half way; nothing was checked"

    # Ids were given in the same order as seqs, and each writer's saves stay in its order
    assert [row_id for _, row_id, _ in rows] == sorted(row_id for _, row_id, _ in rows)
    for writer in range(WRITERS):
        mine = [int(text.split(":")[1]) for _, _, text in rows if text.startswith(f"{writer}:")]
        assert mine == list(range(SAVES_EACH))
