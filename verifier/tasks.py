"""Celery tasks of the cpu queue for verification: the decoding and detection the web process must not do."""

from __future__ import annotations

from celery import shared_task

from verifier import services


@shared_task(name="verifier.tasks.verify_file", acks_late=False)
def verify_file(ticket: str) -> str:
    """Inspect one queued upload within the verification limits and store the answer under its ticket."""
    # acks_late=False: a file that kills its worker (memory) must not be handed to the next one, and the next.
    return services.verification_run(ticket=ticket)


@shared_task(name="verifier.tasks.purge_stale_verify_uploads")
def purge_stale_verify_uploads() -> int:
    """Delete queued uploads whose task expired before a worker took it (beat)."""
    return services.purge_stale_uploads()
