"""Serializers validate input and shape output; they never write."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import PARTNER_SCOPES, ApiKey, AuditEntry, AuditKind, Partner, PartnerStatus, UseCase
from core.api import StrictSerializer


class PartnerApplicationIn(StrictSerializer):
    organisation = serializers.CharField(max_length=200)
    contact_name = serializers.CharField(max_length=200)
    contact_email = serializers.EmailField()
    website = serializers.URLField(required=False, allow_blank=True, default="")
    use_case = serializers.ChoiceField(choices=UseCase.choices)
    use_case_description = serializers.CharField(min_length=20, max_length=5000)


class PartnerApplicationOut(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    claim_token = serializers.CharField(help_text="Shown once: exchange it for the first API key after approval.")


class ClaimIn(StrictSerializer):
    claim_token = serializers.CharField(max_length=200)


class ApiKeyOut(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "expires_at", "revoked_at", "created_at", "last_used_at"]


class ApiKeyCreatedOut(ApiKeyOut):
    key = serializers.CharField(help_text="prefix.secret — shown once, store it now.")

    class Meta(ApiKeyOut.Meta):
        fields = [*ApiKeyOut.Meta.fields, "key"]


class ApiKeyCreateIn(StrictSerializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(PARTNER_SCOPES)),
        min_length=1,
        max_length=len(PARTNER_SCOPES),
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class RevokeIn(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PartnerOut(serializers.ModelSerializer):
    class Meta:
        model = Partner
        fields = [
            "id",
            "name",
            "status",
            "use_case",
            "approved_use_cases",
            "rate_limit_per_minute",
            "max_concurrent_jobs",
            "monthly_video_seconds",
            "max_audio_seconds",
            "created_at",
        ]


class PartnerReviewOut(serializers.ModelSerializer):
    organisation = serializers.CharField(source="name")

    class Meta:
        model = Partner
        fields = [
            "id",
            "organisation",
            "contact_name",
            "contact_email",
            "website",
            "use_case",
            "use_case_description",
            "approved_use_cases",
            "status",
            "status_reason",
            "decided_at",
            "rate_limit_per_minute",
            "max_concurrent_jobs",
            "monthly_video_seconds",
            "max_audio_seconds",
            "consent_auto_verify",
            "claimed_at",
            "created_at",
            "updated_at",
        ]


class PartnerListFilter(StrictSerializer):
    status = serializers.ChoiceField(choices=PartnerStatus.choices, required=False)
    cursor = serializers.CharField(required=False, max_length=1000)


class ApproveIn(StrictSerializer):
    comment = serializers.CharField(max_length=2000)
    use_cases = serializers.ListField(
        child=serializers.ChoiceField(choices=UseCase.choices), required=False, min_length=1
    )


class DecisionIn(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class ReinstateIn(StrictSerializer):
    comment = serializers.CharField(max_length=2000)


class LimitsIn(StrictSerializer):
    rate_limit_per_minute = serializers.IntegerField(min_value=1, max_value=100_000, required=False)
    max_concurrent_jobs = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    monthly_video_seconds = serializers.IntegerField(min_value=0, max_value=100_000_000, required=False)
    max_audio_seconds = serializers.IntegerField(min_value=1, max_value=3600, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Give at least one limit."]})
        return attrs


class ConsentPolicyIn(StrictSerializer):
    auto_verify = serializers.BooleanField()
    comment = serializers.CharField(max_length=2000)


class AuditEntryOut(serializers.ModelSerializer):
    latency_ms = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "kind",
            "request_id",
            "client_request_id",
            "actor",
            "partner_id",
            "client_ip",
            "method",
            "path",
            "status_code",
            "latency_ms",
            "event_type",
            "target_type",
            "target_id",
            "payload",
            "prev_hash",
            "entry_hash",
        ]

    def get_latency_ms(self, obj: AuditEntry) -> float | None:
        return None if obj.latency_us is None else round(obj.latency_us / 1000, 3)


class AuditFilterIn(StrictSerializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    partner = serializers.UUIDField(required=False)
    actor = serializers.CharField(required=False, max_length=80)
    kind = serializers.ChoiceField(choices=AuditKind.choices, required=False)
    event_type = serializers.CharField(required=False, max_length=64)
    path = serializers.CharField(required=False, max_length=500, help_text="Prefix match on the request path.")
    status = serializers.IntegerField(required=False, min_value=100, max_value=599)
    status_class = serializers.ChoiceField(choices=["2xx", "3xx", "4xx", "5xx"], required=False)
    request_id = serializers.CharField(required=False, max_length=64)
    client_request_id = serializers.CharField(required=False, max_length=64, help_text="The caller's X-Request-ID.")
    target_type = serializers.CharField(required=False, max_length=64)
    target_id = serializers.CharField(required=False, max_length=64)
    cursor = serializers.CharField(required=False, max_length=1000)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)
    format = serializers.ChoiceField(choices=["jsonl", "csv"], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": ["until is before since."]})
        return attrs


class ChainReportOut(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_broken_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    head_hash = serializers.CharField()
