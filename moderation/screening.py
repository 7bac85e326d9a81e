"""Screening a generation job before it may render: the checks that decide approved / rejected / review.

Each check adds its evidence to the job's screening report; reason codes say why a job was stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from core import storage
from core.errors import DomainError
from moderation import faces
from moderation.models import BlockedPhrase, Consent, ConsentStatus, ProtectedPersonPhoto

APPROVED = "approved"
REJECTED = "rejected"
NEEDS_REVIEW = "needs_review"

POLICY_VERSION = "2026-11-consent-v2"


@dataclass
class ScreeningResult:
    """The outcome of screening one job."""

    decision: str
    reason_codes: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


def check_consent(*, consent: Consent | None, partner_id: object, now: datetime | None = None) -> list[str]:
    """Reason codes that make the consent unusable for this partner now (empty: usable)."""
    now = now or timezone.now()
    if consent is None or consent.partner_id != partner_id:
        # Another partner's consent is the same as none at all: nothing about it may leak.
        return ["consent_missing"]
    if consent.status == ConsentStatus.REVOKED:
        return ["consent_revoked"]
    if consent.status == ConsentStatus.EXPIRED or consent.valid_until <= now:
        return ["consent_expired"]
    if consent.status != ConsentStatus.VERIFIED:
        return ["consent_not_verified"]
    if consent.valid_from > now:
        return ["consent_not_yet_valid"]
    if consent.use_case not in (consent.partner.approved_use_cases or []):
        return ["consent_out_of_scope"]
    if consent.generations_used >= consent.max_generations:
        return ["consent_exhausted"]
    return []


def reserve_generation(*, consent: Consent) -> bool:
    """Count one generation against the consent, atomically; False when none is left."""
    return bool(
        Consent.objects.filter(
            id=consent.id, status=ConsentStatus.VERIFIED, generations_used__lt=F("max_generations")
        ).update(generations_used=F("generations_used") + 1, updated_at=timezone.now())
    )


def _check_face(consent: Consent, photo_name: str, face_index: int | None, report: dict[str, Any]) -> list[str]:
    with storage.local_copy(photo_name) as path:
        data = path.read_bytes()
    try:
        embedding = faces.single_embedding(data, face_index=face_index, what="job photo")
    except DomainError as exc:
        report["face"] = {"error": exc.code}
        return [exc.code]
    references = [r.embedding for r in consent.subject.references.all()]
    distance = faces.min_distance(embedding, references)
    threshold = settings.TALKGATE_FACE_MATCH_THRESHOLD
    report["face"] = {"distance": round(distance, 4), "threshold": threshold,
                      "matches_subject": distance <= threshold}  # fmt: skip
    codes = [] if distance <= threshold else ["face_mismatch"]
    # The protected gallery: a public figure's likeness is blocked unless a reviewer approved this very person.
    closest: tuple[float, Any] | None = None
    for photo in ProtectedPersonPhoto.objects.filter(person__active=True).select_related("person"):
        d = faces.min_distance(embedding, [photo.embedding])
        if closest is None or d < closest[0]:
            closest = (d, photo.person)
    if closest is not None:
        d, person = closest
        matched = d <= settings.TALKGATE_PROTECTED_MATCH_THRESHOLD
        allowed = matched and consent.approved_protected_person_id == person.id
        report["protected"] = {"closest_person_id": str(person.id), "closest_name": person.name,
                               "distance": round(d, 4), "threshold": settings.TALKGATE_PROTECTED_MATCH_THRESHOLD,
                               "matched": matched, "allowed_by_review": allowed}  # fmt: skip
        if matched and not allowed:
            codes.append("protected_person")
    return codes


def _check_audio(audio_name: str, report: dict[str, Any]) -> list[str]:
    phrases = list(BlockedPhrase.objects.filter(active=True).values_list("phrase", flat=True))
    if not phrases:
        report["audio_policy"] = {"checked": False, "reason": "no blocked phrases configured"}
        return []
    from moderation.verification import find_phrases, transcribe

    with storage.local_copy(audio_name) as path:
        transcript = transcribe(str(path))
    hits = find_phrases(transcript, phrases)
    report["audio_policy"] = {"checked": True, "transcript": transcript[:2000], "matched": hits}
    return hits


def screen(
    *, consent: Consent | None, partner_id: object, photo_name: str, audio_name: str, face_index: int | None = None
) -> ScreeningResult:
    """Run every screening check: consent, the face against the subject and the protected gallery, audio policy."""
    now = timezone.now()
    timings: dict[str, float] = {}
    report: dict[str, Any] = {"policy_version": POLICY_VERSION, "checked_at": now.isoformat(), "timings_s": timings}
    started = time.perf_counter()
    codes = check_consent(consent=consent, partner_id=partner_id, now=now)
    report["consent"] = {
        "id": str(consent.id) if consent else None,
        "status": consent.status if consent else None,
        "generations_used": consent.generations_used if consent else None,
        "max_generations": consent.max_generations if consent else None,
        "reasons": codes,
    }
    timings["consent"] = round(time.perf_counter() - started, 4)
    if codes:
        return ScreeningResult(REJECTED, codes, report)
    assert consent is not None
    started = time.perf_counter()
    codes = _check_face(consent, photo_name, face_index, report)
    timings["face"] = round(time.perf_counter() - started, 4)
    if codes:
        return ScreeningResult(REJECTED, codes, report)
    started = time.perf_counter()
    hits = _check_audio(audio_name, report)
    timings["audio_policy"] = round(time.perf_counter() - started, 4)
    if hits:
        return ScreeningResult(NEEDS_REVIEW, ["blocked_phrase"], report)
    return ScreeningResult(APPROVED, [], report)
