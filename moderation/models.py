"""Subjects (people or artworks depicted), their consents and evidence, protected persons, the audio policy.

No job renders unless the person in the photo gave verified, in-scope, unrevoked consent to this partner.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from accounts.models import Partner, UseCase


class SubjectKind(models.TextChoices):
    PERSON = "person"
    ARTWORK = "artwork"


class Subject(models.Model):
    """The person (or public-domain artwork) a partner wants to animate."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="subjects")
    display_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=SubjectKind.choices, default=SubjectKind.PERSON)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.display_name


class SubjectReference(models.Model):
    """One reference photo of a subject and its 128-d face embedding."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="references")
    photo = models.CharField(max_length=300, help_text="Storage name")
    embedding = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"reference {self.pk} of {self.subject_id}"


class ConsentStatus(models.TextChoices):
    PENDING = "pending"
    VERIFYING = "verifying"
    VERIFIED = "verified"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Consent(models.Model):
    """A subject's consent to one partner, for one use case, inside a window, for a number of generations."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="consents")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="consents")
    use_case = models.CharField(max_length=32, choices=UseCase.choices)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    max_generations = models.PositiveIntegerField()
    generations_used = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.PENDING)
    statement = models.TextField(blank=True)
    challenge_phrase = models.CharField(max_length=200, blank=True)
    challenge_expires_at = models.DateTimeField(null=True, blank=True)
    challenge_used_at = models.DateTimeField(null=True, blank=True)
    # The subject's secret revocation link: only its hash is kept.
    revocation_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # When each recent challenge was issued (the last hour's): bounds how often a partner may ask for one.
    challenge_history = models.JSONField(default=list, blank=True)
    # Recordings automatically rejected since the last reviewer unlock; at the limit the consent locks in review.
    rejected_attempts = models.PositiveSmallIntegerField(default=0)
    # Scores, thresholds, timings: reviewers only (the API gives partners status and reason codes).
    verification_report = models.JSONField(default=dict, blank=True)
    reason_codes = models.JSONField(default=list, blank=True)
    # A reviewer may approve a consent given by a protected person; then that person's match does not block.
    approved_protected_person = models.ForeignKey(
        "ProtectedPerson", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(generations_used__lte=models.F("max_generations")),
                name="consent_generations_within_limit",
            ),
            models.CheckConstraint(condition=models.Q(valid_until__gt=models.F("valid_from")), name="consent_window"),
        ]

    def __str__(self) -> str:
        return f"consent {self.id} ({self.status})"


class EvidenceSource(models.TextChoices):
    # A file a partner uploaded: nothing ties it to the moment it was made, so a reviewer always decides.
    UPLOAD = "upload"
    # Recorded live on the hosted capture page, prompts revealed while recording.
    LIVE = "live"


class ConsentEvidence(models.Model):
    """A recording the subject made, and what automatic verification found in it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="evidence")
    source = models.CharField(max_length=8, choices=EvidenceSource.choices, default=EvidenceSource.UPLOAD)
    recording = models.CharField(max_length=300, help_text="Storage name")
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    challenge_phrase = models.CharField(max_length=200)
    decision = models.CharField(max_length=16, blank=True)
    report = models.JSONField(default=dict, blank=True)
    fingerprint = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"evidence {self.id} ({self.decision or 'pending'})"


class CaptureStatus(models.TextChoices):
    OPEN = "open"
    RECORDING = "recording"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"
    EXPIRED = "expired"
    DECLINED = "declined"


class CaptureSession(models.Model):
    """A single-use link to the hosted capture page, where the subject records live and prompts are revealed.

    The partner sees its status only: the challenge words and prompts (and when each was revealed) are for the
    checks and reviewers.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="capture_sessions")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="capture_sessions")
    # The link's secret: only its hash is kept (the partner gets the link once, with its QR code).
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=CaptureStatus.choices, default=CaptureStatus.OPEN)
    expires_at = models.DateTimeField()
    # The browser that started the recording holds this key (hashed here): nobody else can add to it.
    upload_key_hash = models.CharField(max_length=64, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Fresh words, drawn when the statement is revealed; empty until then.
    challenge_phrase = models.CharField(max_length=200, blank=True)
    # The prompts in the order the server chose, each with its window and, once shown, when (server clock).
    prompts = models.JSONField(default=list, blank=True)
    restarts = models.PositiveSmallIntegerField(default=0)
    reason_codes = models.JSONField(default=list, blank=True)
    evidence = models.OneToOneField(
        ConsentEvidence, null=True, blank=True, on_delete=models.SET_NULL, related_name="capture_session"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    first_chunk_at = models.DateTimeField(null=True, blank=True)
    last_chunk_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="capture_status_expiry_idx")]

    def __str__(self) -> str:
        return f"capture {self.id} ({self.status})"


class CaptureChunk(models.Model):
    """One piece of a live recording as it arrived: its place in the file and when the server received it."""

    session = models.ForeignKey(CaptureSession, on_delete=models.CASCADE, related_name="chunks")
    # A restarted recording begins again at sequence 0 under the next attempt number.
    attempt = models.PositiveSmallIntegerField(default=0)
    seq = models.PositiveIntegerField()
    offset = models.PositiveBigIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    stored_as = models.CharField(max_length=300, blank=True, help_text="Storage name (cleared once assembled)")

    class Meta:
        ordering = ["attempt", "seq"]
        constraints = [models.UniqueConstraint(fields=["session", "attempt", "seq"], name="capture_chunk_unique")]

    def __str__(self) -> str:
        return f"chunk {self.attempt}/{self.seq} of {self.session_id}"


class FingerprintKey(models.Model):
    """One locality-sensitive key of a recording's fingerprint: replay lookups go through this index."""

    evidence = models.ForeignKey(ConsentEvidence, on_delete=models.CASCADE, related_name="fingerprint_keys")
    key = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["key"], name="fingerprint_key_idx")]

    def __str__(self) -> str:
        return f"key {self.key} of {self.evidence_id}"


class ProtectedPerson(models.Model):
    """Someone (a public figure) whose likeness is blocked unless a reviewer approved their own consent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProtectedPersonPhoto(models.Model):
    person = models.ForeignKey(ProtectedPerson, on_delete=models.CASCADE, related_name="photos")
    photo = models.CharField(max_length=300)
    embedding = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"photo {self.pk} of {self.person_id}"


class BlockedPhrase(models.Model):
    """A phrase that sends a job to review when its audio's transcript contains it."""

    phrase = models.CharField(max_length=200, unique=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["phrase"]

    def __str__(self) -> str:
        return self.phrase
