"""The test run's PostgreSQL server (workbook/postgres.py): the chat's tables made once in a
template database, which each test's database is a copy of, and a server down for a while
as a crash would leave it."""

from contextlib import contextmanager

from workbook.postgres import PostgresServer, missing_server_user, postgres_bin

__all__ = ["TEMPLATE", "PostgresServer", "missing_server_user", "postgres_bin", "server_down"]

# The migrated database each test's database is a copy of (CREATE DATABASE … TEMPLATE)
TEMPLATE = "migrated"


@contextmanager
def server_down(server: PostgresServer):
    """The server is down (stopped as a crash would) until the block ends, then up again on
    the same port with the same data."""
    server.stop("immediate")
    try:
        yield
    finally:
        server.start()
