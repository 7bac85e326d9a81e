"""Verification of suspect files: what the C2PA manifest and the watermark say, and the job they lead to.

Anyone learns whether Talkgate made it, when, and whether consent still stands; reviewers also see the
partner, subject, consent and the job's audit trail. Every verification is audited.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from accounts import audit
from accounts.errors import DomainError
from accounts.models import AuditEntry
from generation.models import Job, JobStatus
from moderation.models import ConsentStatus
from provenance import detection

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


def verify_upload(*, fileobj: IO[bytes], reviewer: bool, actor: str | None = None) -> dict[str, Any]:
    """Inspect an uploaded file and describe what was found, at the caller's level of access."""
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
        try:
            inspection = detection.inspect_file(path)
        except detection.UnsupportedMedia as exc:
            raise DomainError(f"Unsupported file: {exc}.", code="unsupported_media") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    job, found_by = _find_job(inspection)
    result: dict[str, Any] = {
        "media": {"kind": inspection.kind, "size_bytes": size, "sha256": digest.hexdigest()},
        "c2pa": inspection.manifest.as_dict(),
        "watermark": inspection.watermark,
        "notes": inspection.notes,
        "match": None,
        "what_this_means": _explain(inspection, job),
    }
    if job is not None:
        result["match"] = {"found_by": found_by, **_public_job(job)}
        if reviewer:
            result["match"].update(_reviewer_job(job))
    audit.record(
        "verification.performed",
        target=job,
        partner_id=job.partner_id if job else None,
        actor=actor,
        payload={"kind": inspection.kind, "c2pa": inspection.manifest.state,
                 "watermark": bool(inspection.watermark and inspection.watermark.get("detected")),
                 "job_id": str(job.id) if job else None, "sha256": digest.hexdigest()},
    )  # fmt: skip
    return result


def _explain(inspection: detection.Inspection, job: Job | None) -> list[str]:
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
    elif mark is not None:
        lines.append("Talkgate's watermark was not found. Another generator may still have made this file.")
    if job is not None:
        lines.append("The file leads to a Talkgate generation; its consent status is shown.")
    return lines
