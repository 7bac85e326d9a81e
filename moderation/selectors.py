"""Reads for subjects, consents (and those in review), protected persons and blocked phrases."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import Partner
from core.errors import NotFound
from moderation.models import (
    BlockedPhrase,
    CaptureSession,
    Consent,
    ConsentStatus,
    ProtectedPerson,
    ProtectedPersonPhoto,
    Subject,
)


def subject_get(*, partner: Partner, subject_id: object) -> Subject:
    """One of the partner's subjects; another partner's is indistinguishable from a missing one."""
    subject = Subject.objects.filter(partner=partner, id=subject_id).first()
    if subject is None:
        raise NotFound("No such subject.", code="subject_not_found")
    return subject


def subject_list(*, partner: Partner) -> QuerySet[Subject]:
    return Subject.objects.filter(partner=partner)


def consent_get(*, partner: Partner, consent_id: object) -> Consent:
    consent = Consent.objects.select_related("subject", "partner").filter(partner=partner, id=consent_id).first()
    if consent is None:
        raise NotFound("No such consent.", code="consent_not_found")
    return consent


def consent_list(*, partner: Partner, filters: dict[str, Any]) -> QuerySet[Consent]:
    qs = Consent.objects.filter(partner=partner)
    if "status" in filters:
        qs = qs.filter(status=filters["status"])
    if "subject_id" in filters:
        qs = qs.filter(subject_id=filters["subject_id"])
    return qs


def consent_for_review(*, consent_id: object) -> Consent:
    consent = Consent.objects.select_related("subject", "partner").filter(id=consent_id).first()
    if consent is None:
        raise NotFound("No such consent.", code="consent_not_found")
    return consent


def consents_in_review() -> QuerySet[Consent]:
    """Consents waiting for a reviewer, oldest first."""
    return (
        Consent.objects.filter(status=ConsentStatus.NEEDS_REVIEW)
        .select_related("subject", "partner")
        .order_by("created_at")
    )


def protected_person_get(*, person_id: object) -> ProtectedPerson:
    person = ProtectedPerson.objects.filter(id=person_id).first()
    if person is None:
        raise NotFound("No such protected person.", code="protected_person_not_found")
    return person


def protected_person_list() -> QuerySet[ProtectedPerson]:
    """The protected gallery's active people, by name, with their photos."""
    return ProtectedPerson.objects.filter(active=True).prefetch_related("photos").order_by("name")


def protected_photo_get(*, photo_id: object) -> ProtectedPersonPhoto:
    photo = ProtectedPersonPhoto.objects.filter(id=photo_id).first()
    if photo is None:
        raise NotFound("No such photo.", code="protected_photo_not_found")
    return photo


def blocked_phrase_list() -> QuerySet[BlockedPhrase]:
    """The reviewers' active blocked phrases."""
    return BlockedPhrase.objects.filter(active=True)


def blocked_phrase_get(*, phrase_id: object) -> BlockedPhrase:
    item = BlockedPhrase.objects.filter(id=phrase_id).first()
    if item is None:
        raise NotFound("No such phrase.", code="phrase_not_found")
    return item


def capture_session_get(*, partner: Partner, session_id: object) -> CaptureSession:
    """One of the partner's capture sessions; another partner's is indistinguishable from a missing one."""
    session = CaptureSession.objects.filter(partner=partner, id=session_id).first()
    if session is None:
        raise NotFound("No such capture session.", code="capture_session_not_found")
    return session


def capture_session_for_evidence(*, evidence_id: object) -> CaptureSession | None:
    """The live capture a recording came from, with its chunks (None for an upload)."""
    return CaptureSession.objects.filter(evidence_id=evidence_id).prefetch_related("chunks").first()
