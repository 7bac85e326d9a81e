"""Live capture sessions: a single-use link to the hosted page, its state machine, decline and expiry.

``open -> recording -> submitted -> verified | rejected | needs_review``, or ``expired`` / ``declined`` before
submission. Every change goes through ``capture_session_transition`` (guarded update, audit entry, webhook).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import random
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from core import storage
from core.errors import Conflict, DomainError, Forbidden
from moderation.models import (
    CaptureChunk,
    CaptureSession,
    CaptureStatus,
    Consent,
    ConsentStatus,
    EvidenceSource,
    SubjectKind,
)
from moderation.services.capture import STATEMENT
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
    """Lazy expiry: an unused link past its time, or a recording abandoned mid-way, ends as expired.

    A recording that started before the link's time ran out may finish after it.
    """
    abandoned = (
        session.status == CaptureStatus.RECORDING
        and session.started_at is not None
        and now - (session.last_chunk_at or session.started_at)
        > timedelta(seconds=settings.TALKGATE_CAPTURE_RESUME_S + settings.TALKGATE_MAX_RECORDING_SECONDS)
    )
    if (session.status == CaptureStatus.OPEN and session.expires_at <= now) or abandoned:
        with transaction.atomic():
            moved = capture_session_transition(
                session=session, expected=[session.status], new=CaptureStatus.EXPIRED,
                fields={"reason_codes": ["link_expired" if not abandoned else "recording_abandoned"]},
            )  # fmt: skip
        if moved:
            _purge_chunks(session)
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
    _purge_chunks(session)
    return session


def capture_sessions_expire(*, now: datetime | None = None) -> int:
    """Expire links past their time and recordings abandoned mid-way (beat, beside the lazy check on access)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.TALKGATE_CAPTURE_RESUME_S + settings.TALKGATE_MAX_RECORDING_SECONDS)
    recording = Q(status=CaptureStatus.RECORDING)
    abandoned = recording & (Q(last_chunk_at__lte=stale) | Q(last_chunk_at__isnull=True, started_at__lte=stale))
    unused = Q(status=CaptureStatus.OPEN, expires_at__lte=now)
    due = CaptureSession.objects.filter(unused | abandoned)
    return sum(_expire_if_due(session, now).status == CaptureStatus.EXPIRED for session in due)


# --- The recording: start, chunks (with the prompts revealed as they arrive), finish ------------------------------

# What the page shows for each movement; the statement's text is made when it is revealed (fresh words then).
MOVEMENT_TEXT = {
    "turn_left": "Turn your head to your left, then back.",
    "turn_right": "Turn your head to your right, then back.",
    "look_up": "Look up, then back.",
}
# Containers MediaRecorder writes in current browsers (Chrome, Firefox: WebM; Safari: MP4); codecs may follow.
ALLOWED_MIME_TYPES = ("video/webm", "video/mp4", "video/x-matroska")


def _schedule(rng: random.Random) -> list[dict[str, Any]]:
    """The statement and two or three movements, in an order the server draws; nothing is revealed yet."""
    movements = rng.sample(sorted(MOVEMENT_TEXT), rng.choice((2, 3)))
    kinds = ["statement", *movements]
    rng.shuffle(kinds)
    windows = {"statement": settings.TALKGATE_CAPTURE_STATEMENT_WINDOW_S}
    return [{"kind": k, "window_s": windows.get(k, settings.TALKGATE_CAPTURE_MOVE_WINDOW_S), "text": "",
             "revealed_at": None, "deadline_at": None} for k in kinds]  # fmt: skip


def _check_key(session: CaptureSession, upload_key: str | None) -> None:
    expected = session.upload_key_hash
    if not expected or not upload_key or not hmac.compare_digest(expected, _sha256(upload_key)):
        raise Forbidden("This recording belongs to another browser.", code="capture_key_invalid")


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _purge_chunks(session: CaptureSession) -> None:
    """Delete the stored pieces of a recording that will not be assembled (their rows stay for the timeline)."""
    pieces = session.chunks.exclude(stored_as="")
    for name in pieces.values_list("stored_as", flat=True):
        storage.delete(name)
    pieces.update(stored_as="")


def capture_start(*, session: CaptureSession, mime_type: str, user_agent: str = "",
                  upload_key: str | None = None) -> tuple[CaptureSession, str]:  # fmt: skip
    """Begin the recording (the link's one use) and hand this browser its upload key; or restart after a long drop.

    A restart (the same browser, its connection lost for longer than TALKGATE_CAPTURE_RESUME_S) discards what was
    recorded and draws new prompts and words: what was revealed before is spent.
    """
    if mime_type.split(";")[0].strip().lower() not in ALLOWED_MIME_TYPES or len(mime_type) > 100:
        raise DomainError("Recordings are WebM or MP4 video.", code="unsupported_media_type", status=415)
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    fields = {"upload_key_hash": _sha256(key), "mime_type": mime_type, "prompts": _schedule(random.SystemRandom()),
              "challenge_phrase": "", "started_at": now, "first_chunk_at": None, "last_chunk_at": None}  # fmt: skip
    with transaction.atomic():
        session = CaptureSession.objects.select_for_update().get(id=session.id)
        if session.status == CaptureStatus.RECORDING and upload_key is not None:
            _check_key(session, upload_key)
            quiet = now - (session.last_chunk_at or session.started_at or now)
            if quiet.total_seconds() <= settings.TALKGATE_CAPTURE_RESUME_S:
                raise Conflict("The recording is still going: resume it.", code="capture_resumable")
            if session.restarts >= settings.TALKGATE_CAPTURE_MAX_RESTARTS:
                raise Conflict("This link was restarted too often; ask for a new one.", code="capture_restart_limit")
            _purge_chunks(session)
            moved = capture_session_transition(
                session=session, expected=[CaptureStatus.RECORDING], new=CaptureStatus.RECORDING,
                event="capture_session.restarted", actor="subject", where={"restarts": session.restarts},
                fields={**fields, "restarts": session.restarts + 1},
            )  # fmt: skip
        else:
            if session.status == CaptureStatus.OPEN and session.consent.status != ConsentStatus.PENDING:
                # Revoked, expired or decided since the link was made: nothing may be recorded for it any more.
                raise Conflict(f"The consent is {session.consent.status}.", code="consent_not_pending")
            moved = capture_session_transition(
                session=session, expected=[CaptureStatus.OPEN], new=CaptureStatus.RECORDING, actor="subject",
                fields={**fields, "user_agent": user_agent[:300]}, payload={"mime_type": mime_type},
            )  # fmt: skip
    if not moved:
        raise Conflict("This link was already used: each link records once.", code="capture_link_used")
    return session, key


def _advance(session: CaptureSession, chunks: int, now: datetime) -> bool:
    """Reveal the next prompt when its time has come (after the lead-in, then as each window closes)."""
    prompts = session.prompts
    shown = [p for p in prompts if p["revealed_at"]]
    if not shown:
        lead = settings.TALKGATE_CAPTURE_LEAD_S
        # The first seconds of video must have arrived: as many chunks (about a second each) and as much time.
        if chunks < lead or (now - session.first_chunk_at).total_seconds() < lead - 1.0:  # type: ignore[operator]
            return False
    elif len(shown) == len(prompts) or now < datetime.fromisoformat(shown[-1]["deadline_at"]):
        return False
    prompt = prompts[len(shown)]
    if prompt["kind"] == "statement":
        from moderation.verification.speech import new_challenge_phrase

        session.challenge_phrase = new_challenge_phrase()
        prompt["text"] = STATEMENT.format(challenge=session.challenge_phrase)
    else:
        prompt["text"] = MOVEMENT_TEXT[prompt["kind"]]
    prompt["revealed_at"] = now.isoformat()
    prompt["deadline_at"] = (now + timedelta(seconds=prompt["window_s"])).isoformat()
    return True


def _prompt_view(session: CaptureSession, now: datetime) -> dict[str, Any]:
    """What the page shows now: the current prompt (text, seconds left), or nothing; done once all have passed."""
    prompts = session.prompts
    shown = [p for p in prompts if p["revealed_at"]]
    current = None
    if shown:
        left = (datetime.fromisoformat(shown[-1]["deadline_at"]) - now).total_seconds()
        if left > 0:
            current = {"index": len(shown), "of": len(prompts), "kind": shown[-1]["kind"], "text": shown[-1]["text"],
                       "seconds_left": round(left, 1)}  # fmt: skip
    done = len(shown) == len(prompts) and current is None
    return {"prompt": current, "done": done}


def capture_chunk(*, session: CaptureSession, upload_key: str | None, seq: int, data: bytes) -> dict[str, Any]:
    """Store one chunk (about a second of video) with its arrival time by the server's clock; say what to show.

    A chunk sent again after a dropped connection (same number, same bytes) is acknowledged once more; a gap, a
    conflicting copy, a connection lost for longer than TALKGATE_CAPTURE_RESUME_S or any bound passed is refused.
    """
    if not data:
        raise DomainError("An empty chunk.", code="chunk_empty")
    if len(data) > settings.TALKGATE_CAPTURE_MAX_CHUNK_BYTES:
        raise DomainError("The chunk is too large.", code="chunk_too_large", status=413)
    if seq >= settings.TALKGATE_CAPTURE_MAX_CHUNKS:
        raise DomainError("The recording has too many chunks.", code="capture_too_many_chunks", status=413)
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        # One chunk at a time per session: the order, offsets and reveals are decided under this lock.
        session = CaptureSession.objects.select_for_update().get(id=session.id)
        _check_key(session, upload_key)
        now = timezone.now()
        if session.status != CaptureStatus.RECORDING:
            raise Conflict(f"This capture is {session.status}.", code="capture_not_recording")
        chunks = session.chunks.filter(attempt=session.restarts)
        last = chunks.order_by("-seq").first()
        if last is not None and seq == last.seq:
            if last.sha256 != digest:
                raise Conflict("Another chunk with this number arrived.", code="chunk_conflict")
            return {"received": seq, "next_seq": seq + 1, **_prompt_view(session, now)}
        expected = 0 if last is None else last.seq + 1
        if seq != expected:
            raise Conflict(f"Expected chunk {expected}.", code="chunk_out_of_order", details={"expected": expected})
        if last is not None and (now - last.received_at).total_seconds() > settings.TALKGATE_CAPTURE_RESUME_S:
            raise Conflict("The connection was lost for too long: restart the recording.", code="capture_interrupted")
        if session.first_chunk_at and (now - session.first_chunk_at).total_seconds() > (
            settings.TALKGATE_MAX_RECORDING_SECONDS
        ):
            raise DomainError("The recording is too long.", code="recording_too_long")
        offset = 0 if last is None else last.offset + last.size
        if offset + len(data) > settings.TALKGATE_MAX_RECORDING_BYTES:
            raise DomainError("The recording is too large.", code="recording_too_large", status=413)
        name = storage.save_bytes(storage.input_name(session.partner_id, f"capture-{session.id}",
                                                     f"a{session.restarts}-{seq:05d}.part"), data)  # fmt: skip
        CaptureChunk.objects.create(session=session, attempt=session.restarts, seq=seq, offset=offset, size=len(data),
                                    sha256=digest, received_at=now, stored_as=name)  # fmt: skip
        session.first_chunk_at = session.first_chunk_at or now
        session.last_chunk_at = now
        changed = ["first_chunk_at", "last_chunk_at", "updated_at"]
        if _advance(session, seq + 1, now):
            changed += ["prompts", "challenge_phrase"]
        session.save(update_fields=changed)
    return {"received": seq, "next_seq": seq + 1, **_prompt_view(session, now)}


def capture_finish(*, session: CaptureSession, upload_key: str | None) -> CaptureSession:
    """Assemble the chunks into the recording and hand it to verification as live evidence (the consent's one try)."""
    from moderation.services.evidence import evidence_submit

    with transaction.atomic():
        session = CaptureSession.objects.select_for_update().get(id=session.id)
        _check_key(session, upload_key)
        if session.status != CaptureStatus.RECORDING:
            raise Conflict(f"This capture is {session.status}.", code="capture_not_recording")
        now = timezone.now()
        view = _prompt_view(session, now)
        if not view["done"]:
            raise Conflict("Every prompt must be shown and its time run out first.", code="capture_incomplete")
        parts = list(session.chunks.filter(attempt=session.restarts).order_by("seq"))
        data = b"".join(_read(p.stored_as) for p in parts)
        try:
            with transaction.atomic():
                suffix = ".mp4" if session.mime_type.lower().startswith("video/mp4") else ".webm"
                evidence = evidence_submit(consent=session.consent, fileobj=io.BytesIO(data),
                                           source=EvidenceSource.LIVE, challenge=session.challenge_phrase,
                                           actor="subject", suffix=suffix)  # fmt: skip
                capture_session_transition(session=session, expected=[CaptureStatus.RECORDING],
                                           new=CaptureStatus.SUBMITTED, actor="subject",
                                           fields={"evidence": evidence, "submitted_at": now},
                                           payload={"evidence_id": str(evidence.id), "chunks": len(parts),
                                                    "bytes": len(data)})  # fmt: skip
        except DomainError as exc:
            # A recording that cannot be taken (undecodable, too long, the consent moved on) ends this link.
            capture_session_transition(session=session, expected=[CaptureStatus.RECORDING],
                                       new=CaptureStatus.REJECTED, actor="subject",
                                       fields={"reason_codes": [exc.code], "decided_at": now})  # fmt: skip
            failure = exc
        else:
            failure = None
        names = [p.stored_as for p in parts]
        session.chunks.update(stored_as="")
    for name in names:
        storage.delete(name)
    if failure is not None:
        raise failure
    return session


def capture_session_decided(*, evidence_id: object, status: str, reasons: list[str]) -> None:
    """The capture behind a verified recording ends as its consent did (verified, rejected or needs_review)."""
    session = CaptureSession.objects.filter(evidence_id=evidence_id).first()
    if session is not None:
        capture_session_transition(session=session, expected=[CaptureStatus.SUBMITTED], new=status,
                                   fields={"reason_codes": reasons, "decided_at": timezone.now()})  # fmt: skip


def capture_timeline(*, evidence_id: object) -> dict[str, Any] | None:
    """A live recording's timeline for the checks: chunk offsets and prompt windows, seconds on the server's clock.

    None for evidence without a capture session (its live checks cannot run, so it goes to a reviewer).
    """
    session = CaptureSession.objects.filter(evidence_id=evidence_id).first()
    if session is None or session.first_chunk_at is None:
        return None
    epoch = session.first_chunk_at

    def seconds(at: datetime | str) -> float:
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        return round((at - epoch).total_seconds(), 3)

    chunks = session.chunks.filter(attempt=session.restarts).order_by("seq")
    return {
        "chunks": [{"seq": c.seq, "offset": c.offset, "size": c.size, "received_s": seconds(c.received_at)}
                   for c in chunks],
        "prompts": [{"kind": p["kind"], "revealed_s": seconds(p["revealed_at"]),
                     "deadline_s": seconds(p["deadline_at"])} for p in session.prompts if p.get("revealed_at")],
    }  # fmt: skip
