"""Revocation: a subject or partner withdraws a consent for good; the apps above hear it by signal."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict
from moderation.models import (
    Consent,
    ConsentStatus,
)
from moderation.services.lifecycle import _sha256, consent_transition
from moderation.signals import consent_revoked


def consent_revoke(*, consent: Consent, actor: str, reason: str = "") -> Consent:
    """Withdraw consent for good; receivers of ``consent_revoked`` (jobs) act in the same transaction."""
    now = timezone.now()
    open_statuses = [c for c in ConsentStatus.values if c != ConsentStatus.REVOKED]
    with transaction.atomic():
        moved = consent_transition(consent=consent, expected=open_statuses, new=ConsentStatus.REVOKED, actor=actor,
                                   fields={"revoked_at": now, "revoked_by": actor[:80]},
                                   payload={"reason": reason[:500]})  # fmt: skip
        if not moved:
            raise Conflict("The consent is already revoked.", code="consent_revoked")
        # Queued jobs are cancelled and finished outputs marked revoked by generation's receiver; if it fails,
        # the revocation rolls back with it rather than leaving jobs running on a withdrawn consent.
        consent_revoked.send(sender=Consent, consent=consent, actor=actor)
    consent.refresh_from_db()
    return consent


def consent_by_revocation_token(token: str) -> Consent | None:
    """The consent a subject's secret link names, if any."""
    if not token or len(token) > 200:
        return None
    return Consent.objects.select_related("subject", "partner").filter(revocation_token_hash=_sha256(token)).first()
