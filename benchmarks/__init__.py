"""Load benchmarks for the chat: how much can it take? (`make bench`, `python -m benchmarks`)."""
