"""Generation jobs, uploads and idempotency records."""

from __future__ import annotations

import uuid

from django.db import models

from accounts.models import Partner
from moderation.models import Consent


class JobStatus(models.TextChoices):
    RECEIVED = "received"
    SCREENING = "screening"
    NEEDS_REVIEW = "needs_review"
    QUEUED = "queued"
    RENDERING = "rendering"
    SIGNING = "signing"
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVOKED = "revoked"


FINAL_STATUSES: frozenset[str] = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.REJECTED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.REVOKED}
)
ACTIVE_STATUSES: tuple[str, ...] = tuple(s for s in JobStatus.values if s not in FINAL_STATUSES)


class Upload(models.Model):
    """A validated input file stored ahead of a job (for JSON job requests that name upload ids)."""

    class Kind(models.TextChoices):
        PHOTO = "photo"
        AUDIO = "audio"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="uploads")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.CharField(max_length=300, help_text="Storage name")
    content_type = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} upload {self.id}"


class Job(models.Model):
    """One generation: inputs, options, consent, state machine, progress, outputs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="jobs")
    consent = models.ForeignKey(Consent, null=True, on_delete=models.PROTECT, related_name="jobs")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.RECEIVED, db_index=True)
    stage = models.CharField(max_length=32, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    reason_codes = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict)
    photo = models.CharField(max_length=300)
    audio = models.CharField(max_length=300)
    inputs_meta = models.JSONField(default=dict, blank=True)
    audio_duration_s = models.FloatField()
    inputs_deleted_at = models.DateTimeField(null=True, blank=True)
    output = models.CharField(max_length=300, blank=True)
    output_meta = models.JSONField(default=dict, blank=True)
    screening_report = models.JSONField(default=dict, blank=True)
    # Set when the job is created, so the render can embed it; unique so a detected id names one job.
    watermark_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # Which engine rendered the output (set by the render; also in the signed manifest).
    engine_name = models.CharField(max_length=64, blank=True)
    engine_version = models.CharField(max_length=32, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # Whoever claimed the render last holds this; a runner that lost it stops at its next batch.
    render_lease = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["partner", "created_at"]),
            models.Index(fields=["partner", "status"]),
            models.Index(fields=["status", "status_changed_at"]),
        ]

    def __str__(self) -> str:
        return f"job {self.id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class IdempotencyRecord(models.Model):
    """The first response to a (partner, Idempotency-Key) pair, replayed for identical retries."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="idempotency_key_per_partner")]

    def __str__(self) -> str:
        return f"idempotency {self.key}"
