"""Yes/no and list values from the environment, read the same way everywhere."""

import os

YES = ("1", "true", "yes", "on")


def is_yes(value: str) -> bool:
    """True for 1, true, yes or on, in any case; False for anything else."""
    return value.strip().lower() in YES


def env_flag(name: str, default: bool) -> bool:
    """A yes/no environment variable; default when it is unset."""
    value = os.environ.get(name)
    return default if value is None else is_yes(value)


def env_list(name: str, default: str) -> list[str]:
    """A comma-separated environment variable, without blanks."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]
