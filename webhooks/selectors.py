"""Reads for webhook endpoints and deliveries, always scoped to one partner."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Partner
from core.errors import NotFound
from webhooks.models import WebhookDelivery, WebhookEndpoint


def webhook_get(*, partner: Partner, endpoint_id: object) -> WebhookEndpoint:
    """The partner's own endpoint, else NotFound (another partner's endpoint is not found either)."""
    endpoint = WebhookEndpoint.objects.filter(partner=partner, id=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.", code="webhook_not_found")
    return endpoint


def webhook_list(*, partner: Partner) -> QuerySet[WebhookEndpoint]:
    """The partner's endpoints, newest first."""
    return WebhookEndpoint.objects.filter(partner=partner)


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first."""
    return WebhookDelivery.objects.filter(endpoint=endpoint)
