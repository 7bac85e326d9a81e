"""Enqueue tasks by name after the current transaction commits (tasks take ids only)."""

from __future__ import annotations

from celery import current_app
from django.db import transaction


def after_commit(task_name: str, object_id: object) -> None:
    """Send the task once the row it names is committed, so a fast worker never misses it."""
    # By name, so the web process never imports the render task's modules (and torch with them); the current
    # app is the project's (config/__init__.py loads it), so this module needs no import from the top.
    transaction.on_commit(lambda: current_app.send_task(task_name, args=[str(object_id)]))
