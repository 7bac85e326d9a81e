"""Live capture sessions: a single-use link to the hosted page, its state machine, decline and expiry.

``open -> recording -> submitted -> verified | rejected | needs_review``, or ``expired`` / ``declined`` before
submission. Every change goes through ``capture_session_transition`` (guarded update, audit entry, webhook).
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from core.errors import Conflict, DomainError
from moderation.models import CaptureSession, CaptureStatus, Consent, ConsentStatus, SubjectKind
from webhooks import services as webhooks

# Statuses in which the link still leads somewhere; the rest are final.
ACTIVE_CAPTURE_STATUSES = (CaptureStatus.OPEN, CaptureStatus.RECORDING)
FINAL_CAPTURE_STATUSES = (
    CaptureStatus.VERIFIED,
    CaptureStatus.REJECTED,
    CaptureStatus.NEEDS_REVIEW,
    CaptureStatus.EXPIRED,
    CaptureStatus.DECLINED,
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def capture_session_transition(
    *,
    session: CaptureSession,
    expected: tuple[str, ...] | list[str],
    new: str,
    event: str | None = None,
    actor: str = "system",
    fields: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
) -> bool:
    """The one way a capture session changes status: a guarded update, its audit entry and webhook, or nothing."""
    now = timezone.now()
    moved = CaptureSession.objects.filter(id=session.id, status__in=list(expected), **(where or {})).update(
        status=new, updated_at=now, **(fields or {})
    )
    if not moved:
        return False
    session.refresh_from_db()
    body = {"from": list(expected), "consent_id": str(session.consent_id), **(payload or {})}
    audit.record(event or f"capture_session.{new}", target=session, partner_id=session.partner_id, actor=actor,
                 payload=body)  # fmt: skip
    # The partner learns the status and reasons only: never the words, prompts or timings.
    webhooks.notify(partner_id=session.partner_id, event_type=f"capture_session.{new}",
                    data={"id": str(session.id), "consent_id": str(session.consent_id), "status": new,
                          "reason_codes": list(session.reason_codes or [])})  # fmt: skip
    return True


def capture_url(token: str) -> str:
    """The subject's link to the hosted capture page."""
    return f"{settings.TALKGATE_PUBLIC_BASE_URL.rstrip('/')}/capture/{token}"


def capture_qr(url: str) -> dict[str, str]:
    """The link as a QR code: SVG text and a base64 PNG (for a partner's screen, a letter or an e-mail)."""
    import segno

    qr = segno.make(url, error="m")
    svg, png = io.BytesIO(), io.BytesIO()
    qr.save(svg, kind="svg", scale=4, border=2, title="Talkgate capture link")
    qr.save(png, kind="png", scale=6, border=2)
    return {"svg": svg.getvalue().decode(), "png_base64": base64.b64encode(png.getvalue()).decode()}


def capture_session_create(*, consent: Consent) -> tuple[CaptureSession, str]:
    """A fresh single-use capture link for a pending consent of a person; earlier open links stop working."""
    if consent.subject.kind != SubjectKind.PERSON:
        raise DomainError("An artwork has nobody to record: a reviewer decides.", code="capture_not_allowed")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        locked = Consent.objects.select_for_update().get(id=consent.id)
        if locked.status != ConsentStatus.PENDING:
            raise Conflict(f"The consent is {locked.status}, not pending.", code="consent_not_pending")
        # One live link per consent at a time: a new one supersedes any other still open or recording.
        for older in CaptureSession.objects.filter(consent=consent, status__in=ACTIVE_CAPTURE_STATUSES):
            capture_session_transition(session=older, expected=ACTIVE_CAPTURE_STATUSES, new=CaptureStatus.EXPIRED,
                                       fields={"reason_codes": ["superseded"]}, actor="partner")  # fmt: skip
        session = CaptureSession.objects.create(
            consent=consent, partner_id=consent.partner_id, token_hash=_sha256(token),
            expires_at=now + timedelta(seconds=settings.TALKGATE_CAPTURE_LINK_TTL_S),
        )  # fmt: skip
        audit.record("capture_session.created", target=session, partner_id=consent.partner_id, actor="partner",
                     payload={"consent_id": str(consent.id), "expires_at": session.expires_at.isoformat()})  # fmt: skip
    return session, token


def _expire_if_due(session: CaptureSession, now: datetime) -> CaptureSession:
    """Lazy expiry: a link past its time, or a recording abandoned past its longest length, ends as expired."""
    abandoned = (
        session.status == CaptureStatus.RECORDING
        and session.started_at is not None
        and now - (session.last_chunk_at or session.started_at)
        > timedelta(seconds=settings.TALKGATE_CAPTURE_RESUME_S + settings.TALKGATE_MAX_RECORDING_SECONDS)
    )
    if session.status in ACTIVE_CAPTURE_STATUSES and (session.expires_at <= now or abandoned):
        with transaction.atomic():
            capture_session_transition(session=session, expected=[session.status], new=CaptureStatus.EXPIRED,
                                       fields={"reason_codes": ["link_expired"]})  # fmt: skip
    return session


def capture_session_by_token(token: str) -> CaptureSession | None:
    """The session a link leads to (expired first, where due), or None for an unknown token."""
    if not token or len(token) > 100:
        return None
    session = (
        CaptureSession.objects.select_related("consent", "consent__subject", "consent__partner")
        .filter(token_hash=_sha256(token))
        .first()
    )
    return None if session is None else _expire_if_due(session, timezone.now())


def capture_session_refresh(*, session: CaptureSession) -> CaptureSession:
    """The session as it stands now (lazy expiry applied), for a partner's read."""
    return _expire_if_due(session, timezone.now())


def capture_session_decline(*, session: CaptureSession) -> CaptureSession:
    """The subject says no on the page: the link ends and the partner learns it (the consent stays pending)."""
    with transaction.atomic():
        moved = capture_session_transition(session=session, expected=ACTIVE_CAPTURE_STATUSES,
                                           new=CaptureStatus.DECLINED, actor="subject",
                                           fields={"reason_codes": ["declined_by_subject"],
                                                   "decided_at": timezone.now()})  # fmt: skip
    if not moved:
        session.refresh_from_db()
        raise Conflict(f"This capture is {session.status}.", code="capture_not_active")
    return session


def capture_sessions_expire(*, now: datetime | None = None) -> int:
    """Expire links past their time and recordings abandoned mid-way (beat, beside the lazy check on access)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.TALKGATE_CAPTURE_RESUME_S + settings.TALKGATE_MAX_RECORDING_SECONDS)
    recording = Q(status=CaptureStatus.RECORDING)
    abandoned = recording & (Q(last_chunk_at__lte=stale) | Q(last_chunk_at__isnull=True, started_at__lte=stale))
    due = CaptureSession.objects.filter(status__in=ACTIVE_CAPTURE_STATUSES).filter(Q(expires_at__lte=now) | abandoned)
    return sum(_expire_if_due(session, now).status == CaptureStatus.EXPIRED for session in due)
