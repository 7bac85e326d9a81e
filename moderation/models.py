"""Subjects (people or artworks depicted) and their consents to a partner.

The consent issue grows this app (capture, evidence verification, revocation links, face references,
protected persons, review queue); the generation pipeline already screens every job against these rows.
"""

from __future__ import annotations

import uuid

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


class ConsentStatus(models.TextChoices):
    PENDING = "pending"
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
    verified_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
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
