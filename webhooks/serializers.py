"""Validation and output shapes for webhook endpoints and deliveries."""

from __future__ import annotations

from rest_framework import serializers

from core.api import StrictSerializer
from webhooks.models import WebhookDelivery, WebhookEndpoint


class WebhookCreateIn(StrictSerializer):
    url = serializers.URLField(max_length=2000)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class WebhookOut(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "active", "created_at", "disabled_at"]


class WebhookCreatedOut(WebhookOut):
    secret = serializers.CharField(help_text="Signing secret, shown once.")

    class Meta(WebhookOut.Meta):
        fields = [*WebhookOut.Meta.fields, "secret"]


class DeliveryOut(serializers.ModelSerializer):
    job_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "job_id", "event_type", "status", "attempts", "next_attempt_at", "last_status_code",
                  "last_error", "created_at", "delivered_at"]  # fmt: skip
