"""Settings for the finished chat.

Everything that differs between a laptop and a deployment comes from the environment:
DJANGO_DEBUG, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DJANGO_CSRF_TRUSTED_ORIGINS,
DJANGO_HTTPS, REDIS_URL, CHAT_CHANNEL_LAYER, DATABASE_URL, CHAT_PROXY_PREFIX and
CHAT_PROXY_HOSTS. The defaults suit a workshop laptop: debug on, only local hosts allowed, a
secret key of the checkout's own. A deployment (DJANGO_DEBUG=0) must bring its own key;
SECURITY.md lists what else it sets.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import redis.exceptions
from django.core.exceptions import ImproperlyConfigured
from redis.driver_info import DriverInfo

from chatproject.checkout_key import checkout_secret_key
from chatproject.environment import env_flag, env_list
from chatproject.sentinel import redis_host

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_flag("DJANGO_DEBUG", True)

# --- Safe when exposed (SECURITY.md) ---------------------------------------------------------
# The secret key signs sessions, CSRF tokens and the guest-name cookie. Never a constant in
# the repository: a deployment brings its own, a laptop makes one for its checkout.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = checkout_secret_key(BASE_DIR / ".secret_key")  # git-ignored
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=0 needs DJANGO_SECRET_KEY: set it to a long random value of this "
        "deployment's own, for example the output of "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
if not DEBUG and "*" in ALLOWED_HOSTS:
    # Any Host header would be served, and any page's Origin would pass the socket's check
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS='*' is refused with DJANGO_DEBUG=0: name the host names the "
        "chat is served at (chat.example.org)"
    )

# Served over HTTPS (DJANGO_HTTPS=1): cookies travel only over HTTPS, plain HTTP is
# redirected. Off by default: a laptop serves plain http://127.0.0.1.
HTTPS = env_flag("DJANGO_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = HTTPS
# Behind a proxy that ends TLS, the proxy's header says the browser used https (for example
# DJANGO_PROXY_SSL_HEADER=X-Forwarded-Proto). Only if the proxy sets it on every request and
# drops the client's own: otherwise a client could claim https.
PROXY_SSL_HEADER = os.environ.get("DJANGO_PROXY_SSL_HEADER", "")
if PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
# HSTS: browsers refuse plain HTTP to this host for that many seconds. Opt-in, because it
# cannot be taken back before it expires: start with 3600, then a year (31536000).
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0"))
# Whether the domain's other hosts and the browsers' preload list should follow is the
# domain owner's decision, not the chat's: check --deploy need not ask about them
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
# Error pages (DEBUG on) hide the passwords inside REDIS_URL and DATABASE_URL too
DEFAULT_EXCEPTION_REPORTER_FILTER = "chatproject.redaction.URLPasswordFilter"
# ---------------------------------------------------------------------------------------------

# Pages of other sites that may post forms here and open chat sockets, as full origins
# ("https://chat.example.org"). A page of the chat's own site always may (chatproject/origin.py)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # First, so that "manage.py runserver" serves ASGI (Channels 4 no longer does this itself)
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "chat",
    "accounts",
    # Login throttle (AXES_* below)
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the one chosen with the header's switcher (a cookie), else the
    # browser's Accept-Language, else LANGUAGE_CODE. After the session, before
    # CommonMiddleware, as Django's documentation places it
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as Axes asks: turns a locked-out login into its 429 page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "chatproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                # LANGUAGE_CODE (the page's <html lang>) and LANGUAGES (the switcher)
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# No WSGI_APPLICATION: every server of this project speaks ASGI
ASGI_APPLICATION = "chatproject.asgi.application"

# How long a chat message's save may take before its sender hears "not saved" (the
# not_saved error, with retry) and the save is abandoned for good (chat/database.py). A
# save takes 4 ms (the median of 1,000 in a row on SQLite; 99 % within 30 ms, on a busy
# two-core machine); a person waits a few seconds for their line before doubting it, and a
# database that cannot write for that long (a lock held elsewhere, a full disk, a server
# down) should be said so, not waited on. The database's own waits end as soon: SQLite's
# for the file's write lock, PostgreSQL's for a lock or a statement (migrations' too: the
# chat's tables are small), and a connection to a server that does not answer.
CHAT_SAVE_SECONDS = float(os.environ.get("CHAT_SAVE_SECONDS", "3"))

# SQLite by default; DATABASE_URL (postgres://…, mysql://…) selects any other database
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Connections are kept, as for SQLite below: a new one for every saved message cost 4 ms
    # and a backend process started and ended on the server. Django advises against
    # persistent connections under ASGI because each thread keeps its own; here the
    # database work runs on fixed pools of threads (CHAT_DATABASE_READERS and _WRITERS,
    # below, and Channels' one thread), so a process keeps at most that many. Each is
    # checked before it is used again (one SELECT 1): a restarted server costs a reconnect,
    # not an error.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        waits = int(CHAT_SAVE_SECONDS * 1000)
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {
                # libpq waits for a connection as long as TCP does unless told (2 s at least)
                "connect_timeout": max(2, round(CHAT_SAVE_SECONDS)),
                "options": f"-c lock_timeout={waits} -c statement_timeout={waits}",
            }
        )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # A separate file per server or test run is one variable away
            "NAME": os.environ.get("DJANGO_SQLITE_PATH", BASE_DIR / "db.sqlite3"),
            "OPTIONS": {
                # Several daphne processes write to one file: readers never wait for the
                # writer (WAL), and a writer waits for its turn instead of failing at once,
                # for as long as a message may take to save (and a session or a sign-up too)
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": CHAT_SAVE_SECONDS,
            },
            # Keep the connection: opening one (and running the PRAGMAs) on every saved
            # message was a third of a message's cost. Django advises against persistent
            # connections under ASGI because every thread keeps its own; for a SQLite file
            # that is an open file, not a slot on a database server.
            "CONN_MAX_AGE": 600,
        }
    }

# Threads for the chat's database calls (chat/database.py), apart from Channels' one
# thread, which still loads sessions and serves pages: a save that waits holds up neither
# history reads nor handshakes. Reads (history pages, room lookups) run side by side, a
# few at a time: each takes milliseconds, and a process has the GIL to share anyway. All
# SQLite writers share the file's one write lock, so a second writer thread would only
# wait for it in SQLite's busy loop (sleeps of up to 100 ms) instead of in line; on a
# database server a room's save locks only that room, and other rooms write meanwhile.
CHAT_DATABASE_READERS = 4
CHAT_DATABASE_WRITERS = 4 if DATABASE_URL else 1

# The channel layer carries group_send between consumers. With Redis, consumers in any
# number of server processes share rooms; without it, only one process can chat. One
# server (redis://host:6379/0, rediss://, unix://), or a primary that Sentinels watch and
# replace when it fails: redis+sentinel://host1:26379,host2:26379,host3:26379/mymaster/0
# (chatproject/sentinel.py)
REDIS_URL = os.environ.get("REDIS_URL", "")

# With Redis, CHAT_CHANNEL_LAYER picks the layer (the load benchmark compares them):
#   redis   RedisChannelLayer (chatproject/layers.py): queues in Redis, capacity and expiry
#   pubsub  RedisPubSubChannelLayer: Redis PUBLISH/SUBSCRIBE, at most once, no capacity
#   memory  InMemoryChannelLayer, Redis or not: one process only. Presence follows the
#           layer (chat/presence.py), so it stays in this process too
CHAT_CHANNEL_LAYER = os.environ.get("CHAT_CHANNEL_LAYER", "redis")
redis_backends = {
    # RedisChannelLayer, counting what it drops and reading a hub's messages in batches
    "redis": "chatproject.layers.ChatRedisLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
if CHAT_CHANNEL_LAYER not in (*redis_backends, "memory"):
    raise ImproperlyConfigured(
        f"CHAT_CHANNEL_LAYER={CHAT_CHANNEL_LAYER!r}: choose redis (the default), pubsub or memory"
    )

# The chat's one Redis connection, for the channel layer and presence alike (None: the chat
# uses no Redis). It is a host as channels_redis takes it: the layer makes its connection
# pool from it, and presence a smaller pool of the same connections (chat/presence.py).
# For one server it is {"address": REDIS_URL, …}; through Sentinel, the Sentinels'
# addresses, the master's name and what to tell the Sentinels ("sentinel_kwargs"). The
# other keys go to redis-py's connections to the Redis server.
#
# How many connections, per process and event loop, is one decision for both. Each command
# in flight holds a connection, and a thousand sockets joining or leaving at once send a
# thousand presence updates (and, without a hub, group_adds) together. Presence's pool
# makes a burst wait its turn: CHAT_REDIS_PRESENCE_CONNECTIONS, 100, serve it, where opening
# a thousand cost three times the CPU of a thousand sockets leaving, and 12 MB kept. The
# layer's pool cannot wait (channels_redis refuses a command past its size, "Too many
# connections"), so its size covers the largest burst: 1,000. Each room's hub also keeps
# one of them, waiting at Redis for the room's messages (below), so a process serves
# hundreds of rooms at once, not thousands. Three server processes then use at most 3,300
# of Redis's default maxclients of 10,000.
CHAT_REDIS_PRESENCE_CONNECTIONS = 100

# How many messages a channel's queue in the layer holds (capacity), and for how long
# (expiry, seconds): past either, RedisChannelLayer drops messages (the chat counts what is
# over capacity, chat/counters.py; history still has them).
#
# With the room hub a queue is one room's in one process: the hub reads a plain channel of
# its own, many messages at a time (chat/hub.py, chatproject/layers.py). Process-specific
# channels, which the tutorial's consumers have (CHAT_ROOM_HUB=0), all share ONE queue per
# process in RedisChannelLayer, so there it holds every room's messages for the process.
# A hub on such a channel, with channels-redis's defaults (100, 60 s), lost most of a burst:
#
# Measured with benchmarks/burst.py, one daphne on a busy 2-core machine: 50 sockets of one
# room send 10 messages each at once while another room sends 10 steadily. On one shared
# queue of 100, 115 of the 510 messages came back to their senders (the rest were dropped
# over capacity, 19,366 of 25,020 deliveries) and the quiet room lost 8 of its 10. With a
# queue per hub, all arrived; the longest a hub's queue grew was 31 messages (the oldest
# 0.8 s old), and at 200 sockets x 10 it was 86 (6.8 s old), all 400,020 deliveries made.
# Without hubs the process's queue grew to 494 at 50 x 10, its oldest 43 s old.
#
# A capacity of 1,000 holds ten times the longest hub queue measured, room for several
# processes' bursts into one busy hub, and twice the tutorial way's; messages of up to
# 4,000 characters bound it at about 16 MB of Redis per queue. An expiry of 120 s is
# twice the tutorial way's oldest and far past a hub's: a queue that nobody reads any more
# (its process died) is gone two minutes after its last message.
CHAT_LAYER_QUEUES = {"capacity": 1000, "expiry": 120}

# A Sentinel answers "where is the primary?" from memory. One that has not answered within
# this many seconds is down or cut off, and the next one is asked: three Sentinels, of which
# two are lost, still name the primary within 4 s.
CHAT_SENTINEL_SECONDS = 2

if REDIS_URL and CHAT_CHANNEL_LAYER in redis_backends:
    redis_options = {
        # redis-py 8 gives up on a reply after 5 s by default: the very time
        # RedisChannelLayer's receive() waits at Redis (BZPOPMIN) for a message, so idle
        # consumers would fail every few seconds. A server too busy to read a reply for a
        # few seconds is not a Redis outage either; one that cannot be reached in as long
        # is.
        "socket_timeout": 10,
        "socket_connect_timeout": 10,
        # After Redis restarts, pooled connections are dead: one immediate retry on a new
        # connection, instead of failing that socket
        "retry_on_error": [redis.exceptions.ConnectionError],
        # The layer's pool (see above)
        "max_connections": 1000,
        # redis-py looks its own version up in the installed packages' metadata for every
        # new connection, milliseconds each; a burst of joins opens dozens. Looked up
        # once here, for all of them.
        "driver_info": DriverInfo(),
    }
    sentinel_options = {
        "socket_timeout": CHAT_SENTINEL_SECONDS,
        "socket_connect_timeout": CHAT_SENTINEL_SECONDS,
    }
    try:
        CHAT_REDIS = redis_host(REDIS_URL, redis_options, sentinel_options)
    except ValueError as error:
        # The message never quotes the URL: it may hold a password
        raise ImproperlyConfigured(f"REDIS_URL: {error}") from None
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": redis_backends[CHAT_CHANNEL_LAYER],
            "CONFIG": {"hosts": [CHAT_REDIS]},
        }
    }
    if CHAT_CHANNEL_LAYER == "redis":
        CHANNEL_LAYERS["default"]["CONFIG"] |= CHAT_LAYER_QUEUES
else:
    CHAT_REDIS = None
    # Queues in this process only; the hub's is sized as with Redis
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHAT_LAYER_QUEUES["capacity"]},
        }
    }

# How fast one connection may send: messages a second on average, and the burst allowed.
# A load benchmark raises them for its one fast sender.
CHAT_MESSAGES_PER_SECOND = float(os.environ.get("CHAT_MESSAGES_PER_SECOND", "5"))
CHAT_MESSAGE_BURST = int(os.environ.get("CHAT_MESSAGE_BURST", "10"))

# Budgets per client address (chat/budgets.py), shared by all of one client's sockets: the
# limits above are per socket, and one address opening a thousand sockets had a thousand
# budgets. The address is the TCP peer's, or the client a trusted proxy names in
# X-Forwarded-For (chat/addresses.py): list the proxy's addresses or networks here, and
# nothing else, since anyone can write that header. Empty: the header is never believed.
CHAT_TRUSTED_PROXIES = env_list("CHAT_TRUSTED_PROXIES", "")
# The budgets are kept per process, as the memory, event loop and database thread they
# protect are: a handshake or a message needs no Redis round trip for them, and a crashed
# process leaves no counts behind. With N processes one address may hold N times each
# budget in all; cap connections across processes at the front proxy (nginx limit_conn).
#
# Open sockets per address. A workshop room behind one NAT must fit: 40 people with four
# tabs each is 160. An idle socket costs about 26 KB (1,000 cost 26 MB), so 200 are 5 MB.
CHAT_CLIENT_SOCKETS = int(os.environ.get("CHAT_CLIENT_SOCKETS", "200"))
# Messages a second from one address, all its sockets together, and the burst: 40 people
# saying hello at once fit in the burst, and 20 a second is four busy typists' worth.
CHAT_CLIENT_MESSAGES_PER_SECOND = float(os.environ.get("CHAT_CLIENT_MESSAGES_PER_SECOND", "20"))
CHAT_CLIENT_MESSAGE_BURST = int(os.environ.get("CHAT_CLIENT_MESSAGE_BURST", "60"))
# History bytes a second to one address, and the burst. A full page (200 messages) is about
# 110 KB and costs a database read and a JSON encoding; 150 sockets asking for 10 pages each
# kept a process busy for 35 s. 1 MB a second is 9 full pages; the burst of 2 MB lets 40
# people open a room at once (the page's ?recent=50 is at most about 30 KB of ordinary
# messages) or one client catch up 18 pages at once. With 150 sockets asking for 10 pages,
# a new client's handshake waited up to 0.8 s behind a 4 MB burst on two busy cores, and
# 0.3 s behind this one (tests/e2e/test_budgets.py).
CHAT_CLIENT_HISTORY_BYTES_PER_SECOND = int(
    os.environ.get("CHAT_CLIENT_HISTORY_BYTES_PER_SECOND", "1000000")
)
CHAT_CLIENT_HISTORY_BURST_BYTES = int(os.environ.get("CHAT_CLIENT_HISTORY_BURST_BYTES", "2000000"))

# What daphne holds for one client (chatproject/bounded_daphne.py, which starts daphne with these).
# A socket whose client stops reading: daphne buffers its frames without limit (20 such
# clients in a busy room grew the process by 101 MB in 40 s), so past this many unsent
# bytes the socket is told it fell behind and closed. 512 KiB is four full history pages
# or about 2,500 chat messages, on top of the kernel's socket buffers (2.5 MB and more per
# socket on Linux), so a slow phone is not dropped. A non-reader then holds at most this,
# the frame that crossed it and an error frame, for at most 1 s more (autobahn's close
# timeout). Measured with 20 non-readers in a busy room: +19 MB of RSS in all, of which a
# busy room alone accounts for 5; with 1 MiB it was +29 to +46 MB (the allocator does not
# give every freed buffer back).
CHAT_SEND_BUFFER_BYTES = int(os.environ.get("CHAT_SEND_BUFFER_BYTES", str(512 * 1024)))
# The largest HTTP request body, refused from its Content-Length before it is read (413).
# The chat's forms are a few hundred bytes; daphne reads a whole body, and queues it in
# memory for the application, before Django can refuse it (four 200 MB POSTs took RSS from
# 229 to 476 MB). 1 MiB, like daphne's limit on one WebSocket message.
CHAT_MAX_REQUEST_BODY = int(os.environ.get("CHAT_MAX_REQUEST_BODY", str(1024 * 1024)))
# How long a worker asked to stop (SIGTERM, SIGINT) drains before it stops: it stops
# listening, closes its sockets with 1012 "service restart" (their pages reconnect to another
# worker) and waits for them and for the HTTP requests in flight to end, at most this long
# (chatproject/drain.py). A client that does not answer the close is dropped after 1 s
# anyway (autobahn's close timeout); what takes longer is a request or an upload in flight.
CHAT_DRAIN_SECONDS = float(os.environ.get("CHAT_DRAIN_SECONDS", "10"))

# One channel-layer subscription per room per process, shared by its sockets (chat/hub.py).
# Off: every consumer joins the room's group with its own channel, as in the tutorial.
CHAT_ROOM_HUB = env_flag("CHAT_ROOM_HUB", True)

# Seconds between the log's summary lines of what the chat refused or dropped (only when
# something was: chat/counters.py)
CHAT_COUNTS_LOG_SECONDS = float(os.environ.get("CHAT_COUNTS_LOG_SECONDS", "60"))

# Seconds a socket stays "in the room" after its server stops refreshing it (a crash)
CHAT_PRESENCE_TTL = float(os.environ.get("CHAT_PRESENCE_TTL", "30"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Login throttle (django-axes; SECURITY.md) -------------------------------------------------
# Without it, 100 wrong passwords and then the right one logged in. After AXES_FAILURE_LIMIT
# failures for one user name, or from one address (either), logins there wait
# AXES_COOLOFF_TIME. A locked name is also a way to keep its owner out for that long: a
# short wait keeps that nuisance small while guessing stays hopeless (5 tries per 15 minutes
# is under 500 a day).
AUTHENTICATION_BACKENDS = [
    "accounts.throttle.LoginThrottle",  # Axes' backend first: it refuses a locked login
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
# The client address the chat's budgets use (chat/addresses.py), trusted proxies included
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.login_address"
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Failures only: a row per successful login would grow without end
AXES_DISABLE_ACCESS_LOG = True
# ---------------------------------------------------------------------------------------------

# Signing up, logging in and logging out all lead back to the rooms
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "chat:index"
LOGOUT_REDIRECT_URL = "chat:index"

# The chat's pages in English (the default) or Japanese: the browser's Accept-Language
# chooses, and the switcher in every page's header overrides it. Django's own messages
# (password rules, form errors) come in the same language from Django's catalogs; the chat's
# own are in chatproject/locale/ (docs/chat.md#languages says how to add one)
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
# Where `manage.py collectstatic` gathers the CSS and JavaScript for a front server to serve
# (nginx: deploy/nginx/chat.conf.template); with debug off, daphne serves none of them.
# DJANGO_STATIC_ROOT names the folder; by default it is build/static, git-ignored with build/
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR.parent / "build" / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Behind Jupyter's proxy (Binder, JupyterHub, the Docker lab) the browser opens the chat at
# <prefix>/chat/…, such as /proxy/8001 or /user/alice/proxy/8001, and jupyter-server-proxy
# hands it on to 127.0.0.1 without the prefix, with the browser's Host and Origin: Jupyter's
# own (127.0.0.1:8888, or the hub's name). The workbook sets these variables when it starts
# a server in such a session (workbook/links.py); nothing changes without them.
#   CHAT_PROXY_PREFIX  the prefix, unquoted; asgi.py serves every path under it
#   CHAT_PROXY_HOSTS   Jupyter's host names as the browser writes them, "*" for a hub whose
#                      public name the session cannot know: behind its proxy no browser
#                      reaches the chat but through Jupyter, which checked the login
CHAT_PROXY_PREFIX = os.environ.get("CHAT_PROXY_PREFIX", "").rstrip("/")
if CHAT_PROXY_PREFIX:
    ALLOWED_HOSTS += env_list("CHAT_PROXY_HOSTS", "")
    # Absolute, because Django adds the script prefix to a relative STATIC_URL only once,
    # at first use, which under daphne is before the first request
    STATIC_URL = f"{CHAT_PROXY_PREFIX}/static/"
    # Each chat's cookies stay with it: Jupyter and other proxied servers share the host
    SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = LANGUAGE_COOKIE_PATH = f"{CHAT_PROXY_PREFIX}/"
    # The hub's front proxy says when the browser used https; without it, the CSRF check
    # would compare the form's https Origin with http (Jupyter's proxy speaks plain HTTP)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)-8s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # Not propagated: daphne also logs through the root logger, and each line should show once
    "loggers": {
        "chat": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "chatproject": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
