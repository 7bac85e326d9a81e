"""Verification tests: run the queued verification task in the test process unless a test starts a worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.celery import app


@pytest.fixture
def inline_tasks() -> Iterator[None]:
    """Celery's eager mode: `apply_async` runs the task at once, here (the worker's code path, no broker)."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before
