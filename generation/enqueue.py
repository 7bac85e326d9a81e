"""Enqueue tasks by name after the current transaction commits (tasks take ids only)."""

from __future__ import annotations

from django.db import transaction

from config.celery import app

SCREEN = "generation.tasks.screen_job"
RENDER = "gpu_worker.tasks.render_job"
SIGN = "generation.tasks.sign_job"
DELIVER = "generation.tasks.deliver_webhook"


def after_commit(task_name: str, object_id: object) -> None:
    """Send the task once the row it names is committed, so a fast worker never misses it."""
    # By name, so the web process never imports the GPU worker's modules (and torch with them).
    transaction.on_commit(lambda: app.send_task(task_name, args=[str(object_id)]))
