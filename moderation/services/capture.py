"""Consent capture: a consent's statement, challenge words and terms, and new challenges for retries."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Partner
from core.errors import Conflict, DomainError, TooMany
from moderation.models import (
    Consent,
    ConsentStatus,
    Subject,
    SubjectKind,
)
from moderation.services.lifecycle import _sha256, consent_transition

# What the subject says aloud: short, common words a keyword spotter hears reliably, then the challenge.
STATEMENT_LEAD = "I agree that my photo may be animated by this service. My challenge words are"
STATEMENT = STATEMENT_LEAD + " {challenge}."
# What the subject reads (and the consent record keeps): who, for what, until when.
TERMS = (
    "{name} agrees that {partner} may use their likeness through Talkgate to create talking videos for "
    "{use_case}, from {start} until {end}, at most {limit} times. Consent can be withdrawn at any time with the "
    "private link given with this consent."
)


def _new_challenge() -> tuple[str, datetime]:
    from moderation.verification import new_challenge_phrase

    return new_challenge_phrase(), timezone.now() + timedelta(seconds=settings.TALKGATE_CHALLENGE_TTL_S)


def statement_text(consent: Consent) -> str:
    """The words the subject says aloud in the recording (with the challenge phrase)."""
    return STATEMENT.format(challenge=consent.challenge_phrase)


def terms_text(consent: Consent) -> str:
    """What the subject agrees to, in full."""
    return TERMS.format(
        name=consent.subject.display_name,
        partner=consent.partner.name,
        use_case=consent.use_case.replace("_", " "),
        start=consent.valid_from.date().isoformat(),
        end=consent.valid_until.date().isoformat(),
        limit=consent.max_generations,
    )


def revocation_url(token: str) -> str:
    return f"{settings.TALKGATE_PUBLIC_BASE_URL.rstrip('/')}/revoke/{token}"


def consent_create(
    *,
    partner: Partner,
    subject: Subject,
    use_case: str,
    valid_from: datetime,
    valid_until: datetime,
    max_generations: int,
) -> tuple[Consent, str]:
    """Open a consent capture: statement + fresh challenge; returns the consent and its secret revocation token."""
    if use_case not in (partner.approved_use_cases or []):
        raise DomainError(
            f"The use case {use_case!r} is not among your approved ones.",
            code="use_case_not_approved",
            details={"approved": partner.approved_use_cases},
        )
    if valid_until <= valid_from or valid_until <= timezone.now():
        raise DomainError("valid_until must be after valid_from and in the future.", code="invalid_window")
    token = secrets.token_urlsafe(32)
    challenge, expires = _new_challenge()
    # An artwork has nobody to record a statement: a reviewer approves each such consent instead.
    artwork = subject.kind == SubjectKind.ARTWORK
    status = ConsentStatus.NEEDS_REVIEW if artwork else ConsentStatus.PENDING
    with transaction.atomic():
        consent = Consent.objects.create(
            partner=partner, subject=subject, use_case=use_case, valid_from=valid_from, valid_until=valid_until,
            max_generations=max_generations, status=status, challenge_phrase=challenge,
            challenge_expires_at=expires, revocation_token_hash=_sha256(token),
            challenge_history=[timezone.now().isoformat()], reason_codes=["artwork_review"] if artwork else [],
        )  # fmt: skip
        consent.statement = statement_text(consent)
        consent.save(update_fields=["statement"])
        audit.record("consent.created", target=consent, partner_id=partner.id,
                     payload={"subject_id": str(subject.id), "use_case": use_case, "status": status})  # fmt: skip
    return consent, token


def _may_retry(consent: Consent) -> bool:
    """A recording the checks rejected may be followed by another, up to the attempt limit; a reviewer's no is final."""
    return (
        consent.status == ConsentStatus.REJECTED
        and consent.reviewed_by_id is None
        and consent.rejected_attempts < settings.TALKGATE_MAX_REJECTED_RECORDINGS
    )


def consent_new_challenge(*, consent: Consent) -> Consent:
    """A fresh challenge phrase (and statement): for a pending capture, or a retry after a rejected recording.

    At most TALKGATE_CHALLENGES_PER_HOUR per consent (429 with Retry-After), so nobody can fish for words.
    """
    with transaction.atomic():
        consent = Consent.objects.select_for_update().get(id=consent.id)
        if consent.status != ConsentStatus.PENDING and not _may_retry(consent):
            raise Conflict(f"The consent is {consent.status}.", code="consent_not_pending")
        now = timezone.now()
        recent = sorted(t for t in consent.challenge_history if datetime.fromisoformat(t) > now - timedelta(hours=1))
        if len(recent) >= settings.TALKGATE_CHALLENGES_PER_HOUR:
            wait = (datetime.fromisoformat(recent[0]) + timedelta(hours=1) - now).total_seconds()
            raise TooMany(f"At most {settings.TALKGATE_CHALLENGES_PER_HOUR} new challenges per consent per hour.",
                          code="challenge_limit", retry_after=wait)  # fmt: skip
        challenge, expires = _new_challenge()
        consent.challenge_phrase, consent.challenge_expires_at, consent.challenge_used_at = challenge, expires, None
        consent.challenge_history = [*recent, now.isoformat()]
        consent.statement = statement_text(consent)
        consent.save(update_fields=["challenge_phrase", "challenge_expires_at", "challenge_used_at", "statement",
                                    "challenge_history"])  # fmt: skip
        audit.record("consent.challenge_renewed", target=consent, partner_id=consent.partner_id)
        if consent.status == ConsentStatus.REJECTED:
            consent_transition(consent=consent, expected=[ConsentStatus.REJECTED], new=ConsentStatus.PENDING,
                               event="consent.retry_opened", actor="partner",
                               fields={"reason_codes": []})  # fmt: skip
    return consent
