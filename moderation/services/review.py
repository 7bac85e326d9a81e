"""Reviewers' decisions on consents (approve, reject, unlock) and audited reads of the evidence."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.permissions import ensure_independent_reviewer
from core.errors import Conflict, DomainError
from moderation.models import (
    Consent,
    ConsentStatus,
    ProtectedPerson,
)
from moderation.services.lifecycle import consent_transition


class ReviewDecision:
    """What a reviewer may decide on a consent in review."""

    APPROVE = "approve"
    REJECT = "reject"
    # Back to pending with the attempt count reset: the subject may record again (after too_many_attempts).
    UNLOCK = "unlock"


_REVIEW_EVENTS = {
    ReviewDecision.APPROVE: "consent.review_approved",
    ReviewDecision.REJECT: "consent.review_rejected",
    ReviewDecision.UNLOCK: "consent.review_unlocked",
}


def consent_review(
    *, consent: Consent, reviewer: User, decision: str, comment: str, protected_person: ProtectedPerson | None = None
) -> Consent:
    """A reviewer's decision on a consent in review: approve, reject (final) or unlock for another recording."""
    ensure_independent_reviewer(reviewer=reviewer, partner_id=consent.partner_id)
    if not comment.strip():
        raise DomainError("A decision needs a comment.", code="comment_required")
    now = timezone.now()
    review = {"reviewed_by": reviewer, "reviewed_at": now, "review_comment": comment}
    if decision == ReviewDecision.APPROVE:
        new, fields = ConsentStatus.VERIFIED, {**review, "verified_at": now, "reason_codes": [],
                                               "approved_protected_person": protected_person}  # fmt: skip
    elif decision == ReviewDecision.REJECT:
        new, fields = ConsentStatus.REJECTED, {**review, "verified_at": None, "reason_codes": ["reviewer_rejected"]}
    elif decision == ReviewDecision.UNLOCK:
        # reviewed_by stays empty: an unlocked consent is not a reviewer's final word.
        new, fields = ConsentStatus.PENDING, {"rejected_attempts": 0, "reason_codes": [], "review_comment": comment}
    else:
        raise DomainError(f"Unknown decision {decision!r}.", code="validation_error")
    with transaction.atomic():
        moved = consent_transition(
            consent=consent, expected=[ConsentStatus.NEEDS_REVIEW], new=new,
            event=_REVIEW_EVENTS[decision],
            actor=f"user:{reviewer.pk}", fields=fields,
            payload={"comment": comment,
                     "protected_person_id": str(protected_person.id) if protected_person else None},
        )  # fmt: skip
        if not moved:
            consent.refresh_from_db()
            raise Conflict(f"The consent is {consent.status}, not in review.", code="not_in_review")
    return consent


def evidence_viewed(*, consent: Consent, reviewer: User, what: str) -> None:
    """Record that a reviewer read a consent's evidence (its recording, or its report with biometric data)."""
    audit.record("consent.evidence_viewed", target=consent, partner_id=consent.partner_id,
                 actor=f"user:{reviewer.pk}", payload={"what": what})  # fmt: skip
