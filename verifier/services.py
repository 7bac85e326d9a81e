"""Verification of suspect files: what the C2PA manifest and the watermark say, and the job they lead to.

Anyone learns whether Talkgate made it, when, and whether consent still stands; reviewers also see the
partner, subject, consent and the job's audit trail. Every verification is audited.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage

from accounts import audit
from accounts.models import AuditEntry
from core import context
from core.errors import DomainError, NotFound
from generation.models import Job, JobStatus
from moderation.models import ConsentStatus
from provenance import detection

logger = logging.getLogger(__name__)

CONSENT_PUBLIC = {
    ConsentStatus.REVOKED: "withdrawn",
    ConsentStatus.EXPIRED: "expired",
}


def _find_job(inspection: detection.Inspection) -> tuple[Job | None, str | None]:
    """The job the watermark names (strongest evidence), else the one the manifest names."""
    mark = inspection.watermark or {}
    if mark.get("detected") and mark.get("watermark_id"):
        job = (
            Job.objects.select_related("consent", "consent__subject", "partner")
            .filter(watermark_id=mark["watermark_id"])
            .first()
        )
        if job is not None:
            return job, "watermark"
    manifest = inspection.manifest
    if manifest.state in ("trusted", "tampered") and manifest.watermark_id:
        job = (
            Job.objects.select_related("consent", "consent__subject", "partner")
            .filter(watermark_id=manifest.watermark_id)
            .first()
        )
        if job is not None:
            return job, "c2pa"
    return None, None


def _public_job(job: Job) -> dict[str, Any]:
    consent = job.consent
    consent_state = "valid"
    if job.status == JobStatus.REVOKED or (consent and consent.status == ConsentStatus.REVOKED):
        consent_state = "withdrawn"
    elif consent and consent.status != ConsentStatus.VERIFIED:
        consent_state = CONSENT_PUBLIC.get(consent.status, consent.status)
    return {
        "made_by_talkgate": True,
        "created_at": job.created_at.date().isoformat(),
        "revoked": consent_state == "withdrawn",
        "consent": consent_state,
    }


def _reviewer_job(job: Job) -> dict[str, Any]:
    consent = job.consent
    trail = AuditEntry.objects.filter(target_type="generation.job", target_id=str(job.id)).order_by("id")
    return {
        "job_id": str(job.id),
        "job_status": job.status,
        "partner": {"id": str(job.partner_id), "name": job.partner.name},
        "subject": ({"id": str(consent.subject_id), "name": consent.subject.display_name,
                     "kind": consent.subject.kind} if consent else None),
        "consent": ({"id": str(consent.id), "status": consent.status, "use_case": consent.use_case,
                     "valid_until": consent.valid_until.isoformat(), "revoked_at": consent.revoked_at}
                    if consent else None),
        "audit_trail": [{"id": e.id, "at": e.created_at.isoformat(), "event": e.event_type, "actor": e.actor}
                        for e in trail],
    }  # fmt: skip


# A verification waits at most this long in the queue; the task expires after it (nobody would read the result).
QUEUE_TIMEOUT_S = 120
# Results (and pending tickets) are kept this long, readable only with the ticket's unguessable id.
RESULT_TTL_S = 600
_TICKET = "verify:ticket:"
_SLOT = "verify:slot:"
UPLOAD_DIR = "verify"


def limits(*, started: float | None = None) -> detection.Limits:
    """The configured verification limits, with the time budget counted from `started` (monotonic; now)."""
    began = time.monotonic() if started is None else started
    return detection.Limits(
        max_pixels=settings.TALKGATE_MAX_VERIFY_PIXELS,
        max_frames=settings.TALKGATE_MAX_VERIFY_FRAMES,
        max_seconds=settings.TALKGATE_MAX_VERIFY_SECONDS,
        deadline=began + settings.TALKGATE_VERIFY_TIME_BUDGET_S,
    )


@dataclass(frozen=True)
class _Spooled:
    path: Path
    size: int
    sha256: str


@contextmanager
def _spool(fileobj: IO[bytes]) -> Iterator[_Spooled]:
    """Copy an upload to a private temporary file under the size cap, hashing it on the way."""
    with tempfile.TemporaryDirectory(prefix="talkgate-verify-") as tmp:
        path = Path(tmp) / "suspect"
        digest = hashlib.sha256()
        size = 0
        with path.open("wb") as out:
            for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
                size += len(chunk)
                if size > settings.TALKGATE_MAX_VERIFY_BYTES:
                    raise DomainError("The file is too large to verify.", code="file_too_large", status=413)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise DomainError("The file is empty.", code="file_invalid")
        yield _Spooled(path=path, size=size, sha256=digest.hexdigest())


def _unsupported(exc: detection.UnsupportedMedia) -> DomainError:
    return DomainError(f"Unsupported file: {exc}.", code="unsupported_media")


def _inspect(spooled: _Spooled, *, actor: str | None, bounds: detection.Limits) -> tuple[dict[str, Any], Job | None]:
    """Inspect a spooled file within the limits, audit it, and describe it for anyone (the public answer)."""
    try:
        inspection = detection.inspect_file(spooled.path, limits=bounds)
    except detection.UnsupportedMedia as exc:
        raise _unsupported(exc) from exc
    job, found_by = _find_job(inspection)
    mark = inspection.watermark or {}
    origin = None
    if job is not None:
        origin = "talkgate_service"
    elif mark.get("detected"):
        # A valid mark whose id no job here carries: the open engine marks everything it writes with a fresh id.
        origin = "talkgate_engine"
    result: dict[str, Any] = {
        "media": {"kind": inspection.kind, "size_bytes": spooled.size, "sha256": spooled.sha256},
        "c2pa": inspection.manifest.as_dict(),
        "watermark": inspection.watermark,
        "origin": origin,
        "notes": inspection.notes,
        "match": None,
        "what_this_means": _explain(inspection, job, origin),
    }
    if job is not None:
        result["match"] = {"found_by": found_by, **_public_job(job)}
    audit.record(
        "verification.performed",
        target=job,
        partner_id=job.partner_id if job else None,
        actor=actor,
        payload={"kind": inspection.kind, "c2pa": inspection.manifest.state,
                 "watermark": bool(mark.get("detected")), "origin": origin,
                 "job_id": str(job.id) if job else None, "sha256": spooled.sha256},
    )  # fmt: skip
    return result, job


def _with_reviewer_detail(result: dict[str, Any], job_id: str | None) -> dict[str, Any]:
    job = (
        Job.objects.select_related("consent", "consent__subject", "partner").filter(id=job_id).first()
        if job_id
        else None
    )
    if job is not None and result.get("match") is not None:
        result = {**result, "match": {**result["match"], **_reviewer_job(job)}}
    return result


def verify_upload(*, fileobj: IO[bytes], reviewer: bool, actor: str | None = None) -> dict[str, Any]:
    """Inspect an uploaded file here and now (CLI, console), within the same limits as public verification."""
    bounds = limits()
    with _spool(fileobj) as spooled:
        result, job = _inspect(spooled, actor=actor, bounds=bounds)
    return _with_reviewer_detail(result, str(job.id) if job else None) if reviewer else result


@dataclass(frozen=True)
class Verification:
    """Where one public verification stands: `pending` (poll the ticket), `done` (result) or `failed` (error)."""

    ticket: str
    state: str
    result: dict[str, Any] | None = None
    error: DomainError | None = None


def _ticket_key(ticket: str) -> str:
    return f"{_TICKET}{ticket}"


def _take_slot(ticket: str) -> int:
    """One of TALKGATE_VERIFY_MAX_PENDING slots, or 503: the queue of verifications is bounded.

    A slot expires by itself, so one lost with its worker frees up after the longest a verification can take.
    """
    ttl = QUEUE_TIMEOUT_S + settings.TALKGATE_VERIFY_TIME_BUDGET_S + 60
    for slot in range(settings.TALKGATE_VERIFY_MAX_PENDING):
        if cache.add(f"{_SLOT}{slot}", ticket, timeout=ttl):
            return slot
    raise DomainError(
        "Too many files are being verified right now; try again shortly.",
        code="verification_busy",
        status=503,
        details={"retry_after_s": 10},
    )


def _release_slot(slot: int | None, ticket: str) -> None:
    if slot is not None and cache.get(f"{_SLOT}{slot}") == ticket:
        cache.delete(f"{_SLOT}{slot}")


def _outcome(ticket: str, entry: dict[str, Any] | None, *, reviewer: bool) -> Verification:
    if entry is None:
        raise NotFound("No such verification (results are kept for 10 minutes).")
    if entry["state"] == "done":
        result = _with_reviewer_detail(entry["result"], entry.get("job_id")) if reviewer else entry["result"]
        return Verification(ticket=ticket, state="done", result=result)
    if entry["state"] == "failed":
        error = entry["error"]
        return Verification(
            ticket=ticket,
            state="failed",
            error=DomainError(error["message"], code=error["code"], status=error["status"]),
        )
    if time.time() - entry["enqueued_at"] > QUEUE_TIMEOUT_S + settings.TALKGATE_VERIFY_TIME_BUDGET_S + 30:
        # The task expired in the queue or its worker died: say so instead of "pending" forever.
        return Verification(
            ticket=ticket,
            state="failed",
            error=DomainError(
                "The verification could not be run; try again later.", code="verification_unavailable", status=503
            ),
        )
    return Verification(ticket=ticket, state="pending")


def verify_submit(*, fileobj: IO[bytes], reviewer: bool, actor: str | None = None) -> Verification:
    """Check the upload's header here, queue the decoding on the cpu workers and wait briefly for the answer.

    Hostile headers (bombs, oversized frames, unknown formats) are refused before anything is queued. The web
    process waits at most TALKGATE_VERIFY_WAIT_S; after that the caller gets the ticket to poll.
    """
    from verifier import tasks

    ctx = context.current_context()
    actor = actor or (ctx.actor if ctx else "anonymous")
    ticket = secrets.token_urlsafe(24)
    with _spool(fileobj) as spooled:
        try:
            detection.probe(spooled.path, limits())
        except detection.UnsupportedMedia as exc:
            raise _unsupported(exc) from exc
        slot = _take_slot(ticket)
        try:
            with spooled.path.open("rb") as handle:
                stored = default_storage.save(f"{UPLOAD_DIR}/{ticket}", File(handle))
            cache.set(
                _ticket_key(ticket),
                {"state": "pending", "enqueued_at": time.time(), "stored": stored, "slot": slot, "actor": actor,
                 "size": spooled.size, "sha256": spooled.sha256},
                timeout=RESULT_TTL_S,
            )  # fmt: skip
            tasks.verify_file.apply_async(
                args=[ticket],
                expires=QUEUE_TIMEOUT_S,
                soft_time_limit=settings.TALKGATE_VERIFY_TIME_BUDGET_S + 15,
                time_limit=settings.TALKGATE_VERIFY_TIME_BUDGET_S + 30,
            )
        except Exception:
            _release_slot(slot, ticket)
            cache.delete(_ticket_key(ticket))
            logger.exception("could not queue a verification")
            raise DomainError(
                "Verification is unavailable right now; try again later.", code="verification_unavailable", status=503
            ) from None
    return verification_wait(ticket=ticket, reviewer=reviewer, wait_s=settings.TALKGATE_VERIFY_WAIT_S)


def verification_wait(*, ticket: str, reviewer: bool, wait_s: float = 0.0) -> Verification:
    """The state of a queued verification, waiting up to `wait_s` seconds for it to finish."""
    end = time.monotonic() + wait_s
    step = 0.02
    while True:
        outcome = _outcome(ticket, cache.get(_ticket_key(ticket)), reviewer=reviewer)
        if outcome.state != "pending" or time.monotonic() >= end:
            return outcome
        time.sleep(min(step, max(0.0, end - time.monotonic())))
        step = min(step * 2, 0.25)


def _failure(exc: DomainError) -> dict[str, Any]:
    return {"state": "failed", "error": {"code": exc.code, "message": exc.message, "status": exc.status}}


def verification_run(*, ticket: str) -> str:
    """The cpu worker's part: inspect the stored upload within the limits and keep the answer for its ticket."""
    started = time.monotonic()
    entry = cache.get(_ticket_key(ticket))
    if entry is None or entry["state"] != "pending":
        return "gone"
    stored = entry["stored"]
    final: dict[str, Any]
    try:
        with default_storage.open(stored, "rb") as handle, _spool(handle) as spooled:
            result, job = _inspect(spooled, actor=entry["actor"], bounds=limits(started=started))
        final = {"state": "done", "result": result, "job_id": str(job.id) if job else None}
    except DomainError as exc:
        final = _failure(exc)
    except SoftTimeLimitExceeded:
        # The hard stop behind the cooperative deadline (a decoder or FFT that ran past it).
        final = _failure(DomainError("The file took too long to verify.", code="verification_timeout", status=422))
    except Exception:
        logger.exception("verification %s failed", ticket)
        final = _failure(DomainError("An internal error occurred; it has been logged.", code="internal_error",
                                     status=500))  # fmt: skip
    finally:
        if default_storage.exists(stored):
            default_storage.delete(stored)
        _release_slot(entry.get("slot"), ticket)
    cache.set(_ticket_key(ticket), {**entry, **final}, timeout=RESULT_TTL_S)
    return final["state"]


def purge_stale_uploads(*, older_than_s: int = 3600) -> int:
    """Delete queued uploads that no worker picked up (their task expired); returns how many."""
    try:
        _, names = default_storage.listdir(UPLOAD_DIR)
    except (FileNotFoundError, NotImplementedError):
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for name in names:
        path = f"{UPLOAD_DIR}/{name}"
        if default_storage.get_modified_time(path).timestamp() < cutoff:
            default_storage.delete(path)
            removed += 1
    return removed


def _explain(inspection: detection.Inspection, job: Job | None, origin: str | None) -> list[str]:
    lines: list[str] = []
    state = inspection.manifest.state
    if state == "trusted":
        lines.append("A C2PA manifest signed by Talkgate is intact: the file is as Talkgate produced it.")
    elif state == "tampered":
        lines.append("A C2PA manifest is present but the media no longer matches it: the file was altered.")
    elif state == "untrusted":
        lines.append("A C2PA manifest is present but not signed by Talkgate; check it with its own signer.")
    elif state == "absent":
        lines.append("No C2PA manifest (re-encoding and most uploads strip it); that alone proves nothing.")
    mark = inspection.watermark
    if mark and mark.get("detected"):
        lines.append(f"Talkgate's invisible watermark was found (confidence {mark['confidence']:.2f}).")
    elif mark and mark.get("status") == "inconclusive":
        lines.append("The watermark search stopped at its time limit without finding the mark: inconclusive.")
    elif mark and mark.get("status") == "not_checked":
        lines.append("The watermark was not looked for: the picture is too small to carry it.")
    elif mark is not None:
        lines.append("Talkgate's watermark was not found. Another generator may still have made this file.")
    if job is not None:
        lines.append("The file leads to a Talkgate generation; its consent status is shown.")
    elif origin == "talkgate_engine":
        lines.append(
            "Made with Talkgate's engine, not by this service's API: the watermark's id belongs to no job here "
            "(the engine marks what it renders elsewhere with a fresh random id), so there is no consent record."
        )
    return lines
