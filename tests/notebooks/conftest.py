"""Every notebook executed headless; how long each took is printed at the end of the run."""

import pytest

# Seconds per notebook run, first and second
_RUN_TIMES: dict[str, list[float]] = {}


@pytest.fixture(scope="session")
def run_times() -> dict[str, list[float]]:
    """Where a test records how long each run of its notebook took."""
    return _RUN_TIMES


def pytest_terminal_summary(terminalreporter):
    """How long each notebook took to run headless (the workbook's budget is 5 minutes)."""
    if not _RUN_TIMES:
        return
    terminalreporter.section("notebook run times (first and second run)")
    for name, seconds in sorted(_RUN_TIMES.items()):
        terminalreporter.write_line(f"{name:40} " + "  ".join(f"{s:5.1f} s" for s in seconds))
    total = sum(seconds[0] for seconds in _RUN_TIMES.values())
    terminalreporter.write_line(f"{'the whole workbook, run once':40} {total:5.1f} s")
