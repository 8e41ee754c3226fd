"""A secret key of this checkout's own, for a workshop laptop (DEBUG on).

Django signs sessions, CSRF tokens and password-reset links with SECRET_KEY: a key printed
in a public repository lets anyone forge them. A deployment sets DJANGO_SECRET_KEY; on a
laptop the chat makes a key the first time it starts and keeps it in a git-ignored file,
so that sessions survive a restart and every server process of the checkout agrees.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key


def checkout_secret_key(path: Path) -> str:
    """The key kept in path, made there first if there is none yet."""
    if not path.exists():
        _write_once(path, get_random_secret_key())
    return path.read_text().strip()


def _write_once(path: Path, key: str) -> None:
    """Write key to path unless another process got there first (then its key stays).

    Written whole to a file of this process, then linked into place: os.link fails if path
    exists, so two servers starting at once never read a half-written key or two keys.
    """
    draft = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        # Readable by its owner only
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(key)
        os.link(draft, path)
    except FileExistsError:
        pass
    except OSError as error:
        raise ImproperlyConfigured(
            f"Could not keep a secret key in {path} ({error.strerror}); "
            "set DJANGO_SECRET_KEY instead"
        ) from error
    finally:
        draft.unlink(missing_ok=True)
