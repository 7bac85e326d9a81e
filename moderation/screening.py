"""Screening a generation job before it may render: the checks that decide approved / rejected / review.

Each check returns reason codes; the decision and the evidence go into the job's screening report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import F
from django.utils import timezone

from moderation.models import Consent, ConsentStatus

APPROVED = "approved"
REJECTED = "rejected"
NEEDS_REVIEW = "needs_review"

POLICY_VERSION = "2026-11-consent-v1"


@dataclass
class ScreeningResult:
    """The outcome of screening one job."""

    decision: str
    reason_codes: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)


def check_consent(*, consent: Consent | None, partner_id: object, now: datetime | None = None) -> list[str]:
    """Reason codes that make the consent unusable for this partner now (empty: usable)."""
    now = now or timezone.now()
    if consent is None:
        return ["consent_missing"]
    if consent.partner_id != partner_id:
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


def screen(*, consent: Consent | None, partner_id: object) -> ScreeningResult:
    """Run every screening check that exists; the consent issue adds face, gallery and audio checks."""
    now = timezone.now()
    codes = check_consent(consent=consent, partner_id=partner_id, now=now)
    report: dict[str, Any] = {
        "policy_version": POLICY_VERSION,
        "checked_at": now.isoformat(),
        "consent": {
            "id": str(consent.id) if consent else None,
            "status": consent.status if consent else None,
            "generations_used": consent.generations_used if consent else None,
            "max_generations": consent.max_generations if consent else None,
            "reasons": codes,
        },
    }
    if codes:
        return ScreeningResult(REJECTED, codes, report)
    return ScreeningResult(APPROVED, [], report)
