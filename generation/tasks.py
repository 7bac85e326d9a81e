"""Celery tasks for generation: thin wrappers that take ids and call the pipeline (render on gpu, the rest cpu)."""

from __future__ import annotations

from celery import shared_task

from core.context import job_scope
from generation import idempotency, pipeline, services


@shared_task(name="generation.tasks.screen_job")
def screen_job(job_id: str) -> str | None:
    """Screen a received job."""
    with job_scope(job_id):
        return pipeline.screen_job(job_id)


@shared_task(name="generation.tasks.render_job")
def render_job(job_id: str) -> str | None:
    """Render a queued job (idempotent: a redelivery takes the render over, a finished job is left alone)."""
    with job_scope(job_id):
        return pipeline.render_job(job_id)


@shared_task(name="generation.tasks.sign_job")
def sign_job(job_id: str) -> str | None:
    """Sign a rendered job's output and finish it."""
    with job_scope(job_id):
        return pipeline.sign_job(job_id)


@shared_task(name="generation.tasks.sweep_stuck_jobs")
def sweep_stuck_jobs() -> dict[str, int]:
    """Re-enqueue or fail jobs stuck past the deadline (beat)."""
    return pipeline.sweep_stuck_jobs()


@shared_task(name="generation.tasks.purge_expired_inputs")
def purge_expired_inputs() -> int:
    """Delete inputs past the retention period (beat)."""
    return services.purge_expired_inputs()


@shared_task(name="generation.tasks.sweep_idempotency_records")
def sweep_idempotency_records() -> int:
    """Delete Idempotency-Key records past their lifetime (beat)."""
    return idempotency.idempotency_record_sweep()
