"""Periodic work of the accounts app (cpu queue)."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts import audit

logger = logging.getLogger(__name__)


@shared_task(name="accounts.tasks.audit_verify_chain")
def audit_verify_chain() -> dict[str, object]:
    """Walk the audit hash chain and record the outcome; a break is logged as an error for alerting."""
    report = audit.verify_chain_recorded(actor="system")
    if not report.ok:
        logger.error("audit chain broken at entry %s: %s", report.first_broken_id, report.reason)
    return report.as_dict()
