"""Reads for jobs, uploads and webhooks, always scoped to one partner."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.errors import NotFound
from accounts.models import Partner
from generation.models import Job, WebhookDelivery, WebhookEndpoint


def job_list(*, partner: Partner, filters: dict[str, Any]) -> QuerySet[Job]:
    qs = Job.objects.filter(partner=partner)
    if "status" in filters:
        qs = qs.filter(status=filters["status"])
    if "created_after" in filters:
        qs = qs.filter(created_at__gte=filters["created_after"])
    if "created_before" in filters:
        qs = qs.filter(created_at__lt=filters["created_before"])
    if "consent_id" in filters:
        qs = qs.filter(consent_id=filters["consent_id"])
    return qs


def job_get(*, partner: Partner, job_id: object) -> Job:
    """One of the partner's jobs; another partner's job is indistinguishable from a missing one."""
    job = Job.objects.filter(partner=partner, id=job_id).first()
    if job is None:
        raise NotFound("No such generation.", code="job_not_found")
    return job


def webhook_get(*, partner: Partner, endpoint_id: object) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(partner=partner, id=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.", code="webhook_not_found")
    return endpoint


def webhook_list(*, partner: Partner) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(partner=partner)


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint)
