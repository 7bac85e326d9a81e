"""Celery tasks of the gpu queue (routed there by module name)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="gpu_worker.tasks.render_job")
def render_job(job_id: str) -> str | None:
    """Render a queued job (idempotent: a redelivery takes the render over, a finished job is left alone)."""
    from generation import pipeline

    return pipeline.render_job(job_id)
