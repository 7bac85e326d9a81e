"""A real Celery worker process takes a task from the real broker and writes to the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import AuditEntry
from accounts.tasks import audit_verify_chain


def worker_env() -> dict[str, str]:
    """The environment for a worker that must see the test database (not the dev one)."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}


def start_worker(queues: str = "cpu") -> subprocess.Popen[str]:
    name = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "-n", name,
         "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        cwd=settings.BASE_DIR,
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def stop_worker(worker: subprocess.Popen[str]) -> str:
    worker.send_signal(signal.SIGTERM)
    try:
        output, _ = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    return output


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_audit_chain_task_from_the_broker() -> None:
    worker = start_worker()
    try:
        audit_verify_chain.delay()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and worker.poll() is None:
            entry = AuditEntry.objects.filter(event_type="audit.chain_verified").first()
            if entry is not None:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the worker did not run the task; its output:\n{stop_worker(worker)}")
    finally:
        output = stop_worker(worker) if worker.poll() is None else ""
    assert entry.actor == "system"
    assert entry.payload["ok"] is True
    assert "accounts.tasks.audit_verify_chain" in output
