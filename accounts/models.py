"""Partners (organisations), people and their roles, API keys, and the append-only audit log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


def _default_rate() -> int:
    return settings.TALKGATE_DEFAULT_PARTNER_RATE_PER_MINUTE


def _default_concurrent_jobs() -> int:
    return settings.TALKGATE_DEFAULT_MAX_CONCURRENT_JOBS


def _default_monthly_seconds() -> int:
    return settings.TALKGATE_DEFAULT_MONTHLY_VIDEO_SECONDS


def _default_max_audio_seconds() -> int:
    return settings.TALKGATE_DEFAULT_MAX_AUDIO_SECONDS


class UseCase(models.TextChoices):
    """Declared use cases a partner may apply for; reviewers approve a subset."""

    EDUCATION = "education"
    ACCESSIBILITY = "accessibility"
    LOCALIZATION = "localization"
    ENTERTAINMENT = "entertainment"
    RESEARCH = "research"
    MARKETING = "marketing"
    CUSTOMER_SERVICE = "customer_service"
    OTHER = "other"


class PartnerStatus(models.TextChoices):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Partner(models.Model):
    """An organisation that calls the API; only ``approved`` partners' keys work."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    website = models.URLField(blank=True)
    use_case = models.CharField(max_length=32, choices=UseCase.choices)
    use_case_description = models.TextField()
    # Use cases a reviewer approved; consents must declare one of these.
    approved_use_cases = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=PartnerStatus.choices, default=PartnerStatus.APPLIED)
    status_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rate_limit_per_minute = models.PositiveIntegerField(default=_default_rate)
    # Generation quotas: jobs not yet final at once, seconds of video per calendar month (UTC), clip length.
    max_concurrent_jobs = models.PositiveIntegerField(default=_default_concurrent_jobs)
    monthly_video_seconds = models.PositiveIntegerField(default=_default_monthly_seconds)
    max_audio_seconds = models.PositiveIntegerField(default=_default_max_audio_seconds)
    # Set by reviewers: consents of this partner's subjects may be verified without a reviewer (from a live
    # capture only, and only while TALKGATE_CONSENT_AUTO_VERIFY is on too).
    consent_auto_verify = models.BooleanField(default=False)
    # The applicant proves ownership of the application with this token (hash only) to collect the first key.
    claim_token_hash = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == PartnerStatus.APPROVED


class Role(models.TextChoices):
    PARTNER_MEMBER = "partner_member"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class User(AbstractUser):
    """A person: a partner's member, a reviewer, or an admin."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PARTNER_MEMBER)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="members")

    @property
    def is_reviewer(self) -> bool:
        """Reviewers and admins may review; admins may also manage reviewers."""
        return self.is_active and self.role in (Role.REVIEWER, Role.ADMIN)


class Scope(models.TextChoices):
    """What an API key may do."""

    GENERATE = "generate", "Create and cancel generation jobs"
    CONSENT = "consent", "Manage subjects and consents"
    READ = "read", "Read jobs, subjects, consents and usage"
    KEYS = "keys", "Manage the partner's API keys"
    WEBHOOKS = "webhooks", "Manage webhook endpoints"
    REVIEW = "review", "Reviewer actions (reviewer keys only)"


PARTNER_SCOPES: tuple[str, ...] = (Scope.GENERATE, Scope.CONSENT, Scope.READ, Scope.KEYS, Scope.WEBHOOKS)


class ApiKey(models.Model):
    """A bearer credential ``prefix.secret``; only a SHA-256 of the secret is kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys")
    # Reviewer keys belong to a person instead of a partner, for scripted review work.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=80, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(partner__isnull=False, user__isnull=True)
                    | models.Q(partner__isnull=True, user__isnull=False)
                ),
                name="api_key_has_exactly_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class AuditKind(models.TextChoices):
    REQUEST = "request"
    EVENT = "event"


class AuditEntry(models.Model):
    """One line of the append-only, hash-chained audit log (an HTTP request or a domain event)."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=8, choices=AuditKind.choices)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    # The caller's own X-Request-ID, if it sent one: searchable, but never trusted as the entry's id.
    client_request_id = models.CharField(max_length=64, blank=True)
    actor = models.CharField(max_length=80, db_index=True)
    # Plain ids, not foreign keys: the log must outlive and never cascade with what it describes.
    partner_id = models.UUIDField(null=True, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_us = models.BigIntegerField(null=True, blank=True)
    event_type = models.CharField(max_length=64, blank=True, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["partner_id", "created_at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.id} {self.kind} {self.event_type or self.path}"
