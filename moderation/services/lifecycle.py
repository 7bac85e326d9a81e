"""The consent lifecycle: the one transition function (guarded update, audit entry, webhook) and the
transitions that need no person: expiry and handing a capture to a reviewer."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import audit
from core.errors import Conflict
from moderation.models import (
    Consent,
    ConsentStatus,
)
from webhooks import services as webhooks

FINAL_CONSENT_STATUSES = (ConsentStatus.REJECTED, ConsentStatus.REVOKED, ConsentStatus.EXPIRED)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _consent_event(consent: Consent, status: str) -> None:
    """The partner's webhooks hear about consent decisions too (no personal data: ids, status, reasons)."""
    webhooks.notify(partner_id=consent.partner_id, event_type=f"consent.{status}",
           data={"id": str(consent.id), "subject_id": str(consent.subject_id), "status": status,
                 "reason_codes": list(consent.reason_codes or [])})  # fmt: skip


def consent_transition(
    *,
    consent: Consent,
    expected: tuple[str, ...] | list[str],
    new: str,
    event: str | None = None,
    actor: str = "system",
    fields: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
) -> bool:
    """The one way a consent changes status: a guarded update, then its audit entry and webhook, or nothing.

    Call inside ``transaction.atomic`` when other writes must land with it. Returns whether it moved.
    """
    now = timezone.now()
    moved = Consent.objects.filter(id=consent.id, status__in=list(expected), **(where or {})).update(
        status=new, updated_at=now, **(fields or {})
    )
    if not moved:
        return False
    consent.refresh_from_db()
    body = {"from": list(expected), "reasons": list(consent.reason_codes or []), **(payload or {})}
    audit.record(event or f"consent.{new}", target=consent, partner_id=consent.partner_id, actor=actor, payload=body)
    _consent_event(consent, new)
    return True


def consents_expire(*, now: datetime | None = None) -> int:
    """Mark consents past their window as expired (screening already refuses them; this keeps lists honest)."""
    now = now or timezone.now()
    open_statuses = [ConsentStatus.PENDING, ConsentStatus.VERIFYING, ConsentStatus.VERIFIED, ConsentStatus.NEEDS_REVIEW]
    expired = 0
    for consent in Consent.objects.filter(status__in=open_statuses, valid_until__lte=now):
        with transaction.atomic():
            expired += consent_transition(consent=consent, expected=open_statuses, new=ConsentStatus.EXPIRED,
                                          where={"valid_until__lte": now})  # fmt: skip
    return expired


def consent_send_to_review(*, consent: Consent, note: str, actor: str) -> Consent:
    """Hand a pending capture to a reviewer without a recording (e.g. the subject cannot record one)."""
    with transaction.atomic():
        moved = consent_transition(
            consent=consent, expected=[ConsentStatus.PENDING], new=ConsentStatus.NEEDS_REVIEW,
            event="consent.sent_to_review", actor=actor,
            fields={"reason_codes": ["sent_to_review"]}, payload={"note": note[:500]},
        )  # fmt: skip
        if not moved:
            consent.refresh_from_db()
            raise Conflict(f"The consent is {consent.status}.", code="consent_not_pending")
    return consent
