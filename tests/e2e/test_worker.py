"""A real Celery worker process takes a task from the real broker and writes to the test database."""

from __future__ import annotations

import pytest

from accounts.models import AuditEntry
from accounts.tasks import audit_verify_chain
from tests.e2e.conftest import start_worker, stop_worker, wait_for


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_audit_chain_task_from_the_broker() -> None:
    worker = start_worker()
    try:
        audit_verify_chain.delay()
        entry = wait_for(
            lambda: AuditEntry.objects.filter(event_type="audit.chain_verified").first(),
            timeout=90,
            what="the audit task",
            worker=worker,
        )
    finally:
        output = stop_worker(worker)
    assert entry.actor == "system"
    assert entry.payload["ok"] is True
    assert "accounts.tasks.audit_verify_chain" in output
