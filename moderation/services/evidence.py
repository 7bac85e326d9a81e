"""Evidence: a recording is measured, stored, verified on the cpu queue, and the review policy decides."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import IO, Any

import av
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Partner
from core import enqueue, metrics, storage
from core.errors import Conflict, DomainError
from moderation.models import (
    Consent,
    ConsentEvidence,
    ConsentStatus,
    EvidenceSource,
    FingerprintKey,
)
from moderation.services.capture import STATEMENT_LEAD
from moderation.services.lifecycle import consent_transition
from moderation.services.live_capture import capture_session_decided, capture_timeline

VERIFY_EVIDENCE = "moderation.tasks.verify_evidence"


def _check_recording(data: bytes) -> float:
    """The recording must decode as video with an audio track, and really last no longer than the limit.

    The length is read from the packets, not the header (a WebM without a duration header says nothing), and
    reading stops just past the limit: nothing of a too-long recording is decoded or stored.
    """
    from moderation.verification.media import MediaError, measure_duration

    limit = settings.TALKGATE_MAX_RECORDING_SECONDS
    try:
        with av.open(io.BytesIO(data), metadata_errors="ignore") as container:
            if not container.streams.video or not container.streams.audio:
                raise DomainError("The recording needs a video and an audio track.", code="recording_invalid")
            next(container.decode(video=0))
        duration = measure_duration(io.BytesIO(data), limit + 0.5)
    except DomainError:
        raise
    except (av.FFmpegError, MediaError, StopIteration, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DomainError("The recording is not a decodable video.", code="recording_invalid") from exc
    if duration > limit + 0.5:
        raise DomainError(f"Recordings may last {limit} s at most.", code="recording_too_long")
    return duration


def evidence_submit(
    *,
    consent: Consent,
    fileobj: IO[bytes],
    source: str = EvidenceSource.UPLOAD,
    challenge: str | None = None,
    actor: str = "partner",
    suffix: str = ".mp4",
) -> ConsentEvidence:
    """Store the subject's recording (single use of the challenge) and queue its automatic verification.

    ``challenge``: the words a live capture revealed while recording (its session bounds their time), instead of the
    consent's own phrase, which the partner has seen. ``suffix``: the stored file's extension (players go by it).
    """
    if consent.status != ConsentStatus.PENDING:
        raise Conflict(f"The consent is {consent.status}; evidence is taken only while pending.",
                       code="consent_not_pending")  # fmt: skip
    now = timezone.now()
    if consent.challenge_used_at is not None:
        raise Conflict("This challenge phrase was already used; ask for a new one.", code="challenge_used")
    if challenge is None and (consent.challenge_expires_at is None or consent.challenge_expires_at <= now):
        raise Conflict("The challenge phrase expired; ask for a new one.", code="challenge_expired")
    data = fileobj.read(settings.TALKGATE_MAX_RECORDING_BYTES + 1)
    if len(data) > settings.TALKGATE_MAX_RECORDING_BYTES:
        raise DomainError("The recording is too large.", code="recording_too_large", status=413)
    duration = _check_recording(data)
    evidence_id = uuid.uuid4()
    name = storage.save_bytes(
        storage.input_name(consent.partner_id, f"consent-{consent.id}", f"evidence-{evidence_id}{suffix}"), data
    )
    try:
        with transaction.atomic():
            claimed = consent_transition(
                consent=consent, expected=[ConsentStatus.PENDING], new=ConsentStatus.VERIFYING,
                event="consent.evidence_received", actor=actor, where={"challenge_used_at__isnull": True},
                fields={"challenge_used_at": now, "reason_codes": []},
                payload={"evidence_id": str(evidence_id), "duration_s": round(duration, 2), "source": source},
            )  # fmt: skip
            if not claimed:
                raise Conflict("Evidence was already submitted for this challenge.", code="challenge_used")
            evidence = ConsentEvidence.objects.create(
                id=evidence_id, consent=consent, recording=name, size_bytes=len(data), source=source,
                sha256=hashlib.sha256(data).hexdigest(), challenge_phrase=challenge or consent.challenge_phrase,
            )  # fmt: skip
            enqueue.after_commit(VERIFY_EVIDENCE, evidence.id)
    except Exception:
        storage.delete(name)
        raise
    return evidence


def _generated_media_check() -> Any:
    """The provenance check: our watermark (service and engine outputs) or an AI-generated C2PA manifest."""
    from provenance.checks import generated_media_reading

    return generated_media_reading


# How many earlier recordings, found through the index, are compared in full: a fixed bound, so one
# verification costs the same however many recordings are stored.
REPLAY_CANDIDATES = 20


def _replay_lookup(exclude_id: object) -> Any:
    """Earlier fingerprints that share index keys with a new one (of any subject, of any partner)."""
    from django.db.models import Count

    from moderation.verification.fingerprint import index_keys

    def lookup(fingerprint: dict[str, Any]) -> list[dict[str, Any]]:
        keys = index_keys(fingerprint)
        if not keys:
            return []
        best = (
            FingerprintKey.objects.filter(key__in=keys)
            .exclude(evidence_id=exclude_id)
            .values("evidence_id")
            .annotate(hits=Count("id"))
            .order_by("-hits")[:REPLAY_CANDIDATES]
        )
        ids = [row["evidence_id"] for row in best]
        return list(ConsentEvidence.objects.filter(id__in=ids).values_list("fingerprint", flat=True))

    return lookup


def _thresholds() -> Any:
    """The library's bands, with the live capture's settings."""
    from moderation.verification import Thresholds

    return Thresholds(min_yaw_deg=settings.TALKGATE_CAPTURE_MIN_YAW_DEG,
                      min_pitch_deg=settings.TALKGATE_CAPTURE_MIN_PITCH_DEG,
                      max_stream_lag_s=settings.TALKGATE_CAPTURE_MAX_LAG_S)  # fmt: skip


def auto_verify_allowed(partner: Partner) -> bool:
    """Whether a consent of this partner may become verified without a reviewer (both switches on)."""
    return settings.TALKGATE_CONSENT_AUTO_VERIFY and partner.consent_auto_verify


# The checks only a live capture has; a live recording reaches verified only when all of them ran (and passed).
LIVE_CHECKS = ("stream_timing", "spoken_in_time", "movement")


def _outcome(
    consent: Consent, evidence: ConsentEvidence, decision: str, reasons: list[str], checks: dict[str, Any]
) -> tuple[str, list[str]]:
    """The consent's next status and its reason codes, from the checks' decision and the review policy."""
    if decision == "rejected":
        if consent.rejected_attempts + 1 >= settings.TALKGATE_MAX_REJECTED_RECORDINGS:
            return ConsentStatus.NEEDS_REVIEW, ["too_many_attempts", *reasons]
        return ConsentStatus.REJECTED, reasons
    review = list(reasons)  # borderline checks, when the decision is needs_review
    if evidence.source != EvidenceSource.LIVE:
        review.append("uploaded_evidence")
    elif not all(name in checks for name in LIVE_CHECKS):
        # Live evidence counts only with its capture's own checks (timing, movement, the stream): without them it
        # is no better than an upload.
        review.append("live_checks_missing")
    if not auto_verify_allowed(consent.partner):
        review.append("policy_review")
    return (ConsentStatus.NEEDS_REVIEW, review) if review else (ConsentStatus.VERIFIED, [])


def evidence_verify(*, evidence_id: object) -> str | None:
    """Run automatic verification of one recording and move the consent on (verified only by policy)."""
    evidence = (
        ConsentEvidence.objects.select_related("consent", "consent__subject", "consent__partner")
        .filter(id=evidence_id)
        .first()
    )
    if evidence is None or evidence.decision or evidence.consent.status != ConsentStatus.VERIFYING:
        return None
    from moderation.verification import index_keys, verify_recording

    consent = evidence.consent
    references = [r.embedding for r in consent.subject.references.all()]
    with storage.local_copy(evidence.recording) as path:
        report = verify_recording(
            str(path),
            references=references,
            # The library aligns the fixed lead first, then looks for the challenge words after it.
            statement=STATEMENT_LEAD,
            challenge=evidence.challenge_phrase,
            replay_lookup=_replay_lookup(evidence.id),
            generated_media_check=_generated_media_check(),
            thresholds=_thresholds(),
            capture=capture_timeline(evidence_id=evidence.id) if evidence.source == EvidenceSource.LIVE else None,
        )
    body = report.as_dict()
    new_status, reasons = _outcome(consent, evidence, report.decision, list(report.reasons), report.checks)
    now = timezone.now()
    with transaction.atomic():
        ConsentEvidence.objects.filter(id=evidence.id).update(
            decision=report.decision, report=body, fingerprint=report.fingerprint, verified_at=now
        )
        FingerprintKey.objects.filter(evidence_id=evidence.id).delete()
        FingerprintKey.objects.bulk_create(
            FingerprintKey(evidence_id=evidence.id, key=k) for k in index_keys(report.fingerprint)
        )
        attempts = consent.rejected_attempts + (report.decision == "rejected")
        moved = consent_transition(
            consent=consent, expected=[ConsentStatus.VERIFYING], new=new_status,
            fields={"verification_report": body, "reason_codes": reasons, "rejected_attempts": attempts,
                    "verified_at": now if new_status == ConsentStatus.VERIFIED else None},
            payload={"evidence_id": str(evidence.id), "source": evidence.source},
        )  # fmt: skip
        if moved:
            capture_session_decided(evidence_id=evidence.id, status=new_status, reasons=reasons)
    if moved:
        metrics.consent_verified(str(new_status), reasons)
    return new_status if moved else None
