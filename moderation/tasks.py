"""Celery tasks of the cpu queue for moderation."""

from __future__ import annotations

from celery import shared_task

from moderation import services


@shared_task(name="moderation.tasks.verify_evidence")
def verify_evidence(evidence_id: str) -> str | None:
    """Verify a consent recording (idempotent: a decided evidence is left alone)."""
    return services.evidence_verify(evidence_id=evidence_id)


@shared_task(name="moderation.tasks.expire_consents")
def expire_consents() -> int:
    """Mark consents past their validity window, and capture links past theirs, as expired (beat)."""
    # Capture links are also expired lazily whenever they are read; this sweep tells partners about the rest.
    return services.consents_expire() + services.capture_sessions_expire()
