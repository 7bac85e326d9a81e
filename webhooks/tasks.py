"""Celery tasks of the cpu queue for webhooks: one delivery attempt, and the retries that are due."""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task(name="webhooks.tasks.deliver_webhook")
def deliver_webhook(delivery_id: str) -> str | None:
    """Attempt one webhook delivery now (later attempts come from the table, via deliver_due_webhooks)."""
    return services.deliver(delivery_id)


@shared_task(name="webhooks.tasks.deliver_due_webhooks")
def deliver_due_webhooks() -> int:
    """Retry deliveries whose backoff has passed (beat)."""
    return services.deliver_due()
