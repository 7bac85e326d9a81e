"""Real Celery worker processes for end-to-end tests, pointed at the test database and storage."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


def worker_env(**extra: str) -> dict[str, str]:
    """The environment for a worker that must see the test database and files (not the dev ones)."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "TALKGATE_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_worker(queues: str = "cpu", *, app: str = "config", **extra_env: str) -> subprocess.Popen[str]:
    """A real `celery worker` in its own process group (so a test can SIGKILL all of it)."""
    name = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", app, "worker", "-Q", queues, "-n", name,
         "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        cwd=settings.BASE_DIR,
        env=worker_env(**extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip


def stop_worker(worker: subprocess.Popen[str]) -> str:
    """Warm shutdown (SIGTERM), then kill; returns what the worker printed."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        output, _ = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        output, _ = worker.communicate()
    return output or ""


@contextmanager
def running_worker(queues: str = "cpu", *, app: str = "config", **extra_env: str) -> Iterator[subprocess.Popen[str]]:
    worker = start_worker(queues, app=app, **extra_env)
    try:
        yield worker
    finally:
        stop_worker(worker)


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, worker: subprocess.Popen[str]) -> object:
    """Poll until ``condition`` is truthy; fail with the worker's output if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker.poll() is not None:
            break
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; worker output:\n{stop_worker(worker)[-4000:]}")
