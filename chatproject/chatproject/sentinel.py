"""REDIS_URL through Redis Sentinel: the chat's one Redis setting, for a Redis that survives
losing its primary.

Sentinels watch a primary and its replicas; when the primary is gone, they agree on it and
promote a replica. A client asks them where the primary is, and asks again after a failover:
redis-py does that (redis.asyncio.sentinel), and channels-redis takes a host made for it.
redis-py reads no URL for it, so the chat reads the one that redis-sentinel-url introduced
and Redis's RedisVL, LangChain and Prefect read too::

    redis+sentinel://[user:password@]host[:port][,host[:port]...]/master_name[/db]

The Sentinels' ports default to 26379 and db to 0. The user and password are the primary's,
as in redis://; Sentinels that ask for a password of their own take it in the query:
``?sentinel_password=…`` (and ``sentinel_username=…``).
"""

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

import redis.asyncio
import redis.asyncio.sentinel
import redis.connection

SCHEME = "redis+sentinel"
DEFAULT_PORT = 26379
FORM = "redis+sentinel://host1:26379,host2:26379,host3:26379/mymaster/0"
SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")


@dataclass(frozen=True)
class SentinelURL:
    """What a redis+sentinel:// URL says: where the Sentinels are, and which primary."""

    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    db: int = 0
    # The primary's credentials, then the Sentinels' own: kept out of the repr (logs)
    credentials: dict = field(default_factory=dict, repr=False)
    sentinel_credentials: dict = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        """Where the chat finds its Redis, fit for a log line (no passwords)."""
        sentinels = ", ".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"through Sentinel: master {self.master_name}, db {self.db}, sentinels {sentinels}"


def is_sentinel_url(url: str) -> bool:
    return url.partition("://")[0].lower() == SCHEME


def parse_sentinel_url(url: str) -> SentinelURL:
    """The parts of a redis+sentinel:// URL; ValueError saying what is wrong (never quoting
    a password)."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() != SCHEME:
        raise ValueError(f"a Sentinel URL starts with {SCHEME}://, as in {FORM}")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    master_name, db = master_and_db(path)
    return SentinelURL(
        sentinels=tuple(sentinel_address(entry) for entry in hosts.split(",")),
        master_name=master_name,
        db=db,
        credentials=user_and_password(userinfo),
        sentinel_credentials=sentinel_options(query),
    )


def sentinel_address(entry: str) -> tuple[str, int]:
    """host, host:port or [IPv6]:port as a (host, port) pair."""
    if entry.startswith("["):
        host, _, port = entry[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = entry.partition(":")
        if ":" in port:
            raise ValueError(f"sentinel {entry!r}: write an IPv6 address in brackets, [::1]:26379")
    if not host:
        raise ValueError(f"a sentinel without a host ({entry!r}): list them as in {FORM}")
    if not port:
        return host, DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"sentinel {entry!r}: the port must be a number from 1 to 65535")
    return host, int(port)


def master_and_db(path: str) -> tuple[str, int]:
    """The master's name and the database number from the URL's path: mymaster/0."""
    parts = path.split("/") if path else []
    if not parts or not parts[0]:
        raise ValueError(f"no master name: the primary's name follows the Sentinels, {FORM}")
    if len(parts) > 2:
        raise ValueError(f"the path is the master name and a database number only, {FORM}")
    db = parts[1] if len(parts) == 2 else "0"
    if not db.isdigit():
        raise ValueError(f"the database ({db!r}) must be a number, as the 0 in {FORM}")
    return unquote(parts[0]), int(db)


def user_and_password(userinfo: str) -> dict:
    if not userinfo:
        return {}
    username, has_password, password = userinfo.partition(":")
    credentials = {"username": unquote(username)} if username else {}
    if has_password:
        credentials["password"] = unquote(password)
    return credentials


def sentinel_options(query: str) -> dict:
    """The Sentinels' own credentials, as redis-py names them without the prefix."""
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - set(SENTINEL_OPTIONS))
    if unknown:
        known = " and ".join(SENTINEL_OPTIONS)
        raise ValueError(f"unknown option {', '.join(unknown)}: a Sentinel URL takes {known}")
    return {name.removeprefix("sentinel_"): values[-1] for name, values in options.items()}


def check_url(url: str) -> None:
    """Raise ValueError if url is no Redis URL that the chat can use, saying why."""
    if is_sentinel_url(url):
        parse_sentinel_url(url)
        return
    try:
        redis.connection.parse_url(url)
    except ValueError as error:
        raise ValueError(f"{error}, or {SCHEME}:// for Sentinels, as in {FORM}") from None


def redis_host(url: str, options: dict, sentinel_options: dict) -> dict:
    """The chat's Redis as a channels-redis host: {"address": url, …options} for one server,
    or the Sentinel host channels-redis (3.3 and later) takes for a redis+sentinel:// URL.

    options go to the connections to the Redis server, sentinel_options to those to the
    Sentinels (with their credentials, if the URL has some).
    """
    check_url(url)
    if not is_sentinel_url(url):
        return {"address": url, **options}
    parsed = parse_sentinel_url(url)
    return {
        "sentinels": list(parsed.sentinels),
        "master_name": parsed.master_name,
        "sentinel_kwargs": {**sentinel_options, **parsed.sentinel_credentials},
        "db": parsed.db,
        **parsed.credentials,
        **options,
    }


class BlockingSentinelConnectionPool(
    redis.asyncio.sentinel.SentinelConnectionPool, redis.asyncio.BlockingConnectionPool
):
    """Connections to the primary the Sentinels name, and a command waits for a free one
    (max_connections, for up to timeout seconds) instead of failing."""


def master_client(host: dict, **options) -> redis.asyncio.Redis:
    """A redis-py client of the primary that a Sentinel host (redis_host()) names, on a
    blocking pool; options override the host's own. It asks the Sentinels again whenever
    it must connect, so it follows a failover."""
    options = {**host, **options}
    sentinels = options.pop("sentinels")
    master_name = options.pop("master_name")
    sentinel = redis.asyncio.sentinel.Sentinel(
        sentinels, sentinel_kwargs=options.pop("sentinel_kwargs", None)
    )
    return sentinel.master_for(
        master_name, connection_pool_class=BlockingSentinelConnectionPool, **options
    )
