"""Writes for generation jobs: create (with inputs and quotas), guarded transitions, cancel, retention."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Partner
from core import enqueue, inputs, metrics, storage
from core.errors import Conflict, DomainError, NotFound
from generation import selectors
from generation.models import ACTIVE_STATUSES, FINAL_STATUSES, Job, JobStatus, Upload
from moderation.models import Consent
from webhooks import services as webhooks

logger = logging.getLogger(__name__)

# The job's stages as tasks, sent by name (core.enqueue); the render task is routed to the gpu queue.
SCREEN_TASK = "generation.tasks.screen_job"
RENDER_TASK = "generation.tasks.render_job"
SIGN_TASK = "generation.tasks.sign_job"


class QuotaExceeded(DomainError):
    status = 429


def _fan_out(job: Job, event_type: str) -> int:
    """Tell the job's partner about a job state change (no inputs, no personal data)."""
    data = {
        "id": str(job.id),
        "status": job.status,
        "stage": job.stage,
        "progress": job.progress,
        "reason_codes": job.reason_codes,
        "consent_id": str(job.consent_id) if job.consent_id else None,
    }
    return webhooks.notify(partner_id=job.partner_id, event_type=event_type, data=data, job_id=job.id)


def new_watermark_id() -> str:
    """A random id the render embeds; it names the job and reveals nothing about it (unique among jobs)."""
    # Imported here: the watermark package loads torch, which web processes otherwise import only on verification.
    from provenance.watermark import new_watermark_id as provenance_id

    # The payload is 32 bits, so ids can collide once there are tens of thousands of jobs: draw again.
    for _ in range(20):
        candidate = provenance_id()
        if not Job.objects.filter(watermark_id=candidate).exists():
            return candidate
    raise DomainError("Could not allocate a watermark id; try again.", code="watermark_space_exhausted", status=503)


# --- Quotas ------------------------------------------------------------------------------------------------


def _check_quotas(partner: Partner, duration_s: float) -> None:
    usage = selectors.usage_get(partner=partner)
    if usage.concurrent_jobs_active >= usage.concurrent_jobs_limit:
        raise QuotaExceeded(
            f"{usage.concurrent_jobs_active} jobs are in progress; the limit is {usage.concurrent_jobs_limit}.",
            code="quota_concurrent_jobs",
        )
    if usage.video_seconds_used + duration_s > usage.video_seconds_limit:
        raise QuotaExceeded(
            f"This job needs {duration_s:.1f} s; {usage.video_seconds_remaining:.1f} s are left this month.",
            code="quota_monthly_seconds",
            status=403,
            details={"remaining_s": usage.video_seconds_remaining, "needed_s": round(duration_s, 3)},
        )


# --- Uploads -------------------------------------------------------------------------------------------------


def upload_create(*, partner: Partner, kind: str, fileobj: IO[bytes]) -> Upload:
    """Check and store one input ahead of a JSON job request."""
    upload_id = uuid.uuid4()
    if kind == Upload.Kind.PHOTO:
        photo = inputs.check_photo(fileobj)
        data, content_type, meta, digest, ext = photo.png, "image/png", photo.meta(), photo.sha256, "png"
    else:
        audio = inputs.check_audio(fileobj, max_seconds=partner.max_audio_seconds)
        ext = inputs.audio_extension(audio.container)
        data, content_type, meta, digest = audio.data, f"audio/{ext}", audio.meta(), audio.sha256
    name = storage.save_bytes(storage.input_name(partner.id, f"upload-{upload_id}", f"{kind}.{ext}"), data)
    try:
        with transaction.atomic():
            upload = Upload.objects.create(
                id=upload_id,
                partner=partner,
                kind=kind,
                file=name,
                content_type=content_type,
                size_bytes=len(data),
                sha256=digest,
                metadata=meta,
            )
            audit.record("upload.created", target=upload, partner_id=partner.id, payload={"kind": kind, **meta})
    except Exception:
        storage.delete(name)
        raise
    return upload


def _upload(partner: Partner, upload_id: object, kind: str) -> Upload:
    upload = Upload.objects.filter(id=upload_id, partner=partner, kind=kind, deleted_at__isnull=True).first()
    if upload is None:
        raise NotFound(f"No {kind} upload with this id.", code="upload_not_found", details={"kind": kind})
    return upload


# --- Jobs ----------------------------------------------------------------------------------------------------


def job_create(
    *,
    partner: Partner,
    consent_id: uuid.UUID,
    options: dict[str, Any],
    photo_file: IO[bytes] | None = None,
    audio_file: IO[bytes] | None = None,
    photo_upload_id: uuid.UUID | None = None,
    audio_upload_id: uuid.UUID | None = None,
) -> Job:
    """Check inputs, store them, create the job (quotas under a partner lock) and enqueue screening."""
    consent = Consent.objects.filter(id=consent_id, partner=partner).first()
    if consent is None:
        raise NotFound("No consent with this id for your account.", code="consent_not_found")
    job_id = uuid.uuid4()
    stored: list[str] = []
    try:
        if photo_file is not None:
            photo = inputs.check_photo(photo_file)
            photo_name = storage.save_bytes(storage.input_name(partner.id, job_id, "photo.png"), photo.png)
            stored.append(photo_name)
            photo_meta = photo.meta()
        else:
            upload = _upload(partner, photo_upload_id, Upload.Kind.PHOTO)
            photo_name, photo_meta = upload.file, upload.metadata
        if audio_file is not None:
            audio = inputs.check_audio(audio_file, max_seconds=partner.max_audio_seconds)
            ext = inputs.audio_extension(audio.container)
            audio_name = storage.save_bytes(storage.input_name(partner.id, job_id, f"audio.{ext}"), audio.data)
            stored.append(audio_name)
            audio_meta = audio.meta()
        else:
            upload = _upload(partner, audio_upload_id, Upload.Kind.AUDIO)
            if upload.metadata["duration_s"] > partner.max_audio_seconds:
                raise inputs.InputError("The audio is longer than the partner's limit.", code="audio_too_long")
            audio_name, audio_meta = upload.file, upload.metadata
        with transaction.atomic():
            # The partner row is the lock that makes "check quota, then create" safe under concurrency.
            locked = Partner.objects.select_for_update().get(id=partner.id)
            _check_quotas(locked, float(audio_meta["duration_s"]))
            job = Job.objects.create(
                id=job_id,
                partner=partner,
                consent=consent,
                options=options,
                photo=photo_name,
                audio=audio_name,
                inputs_meta={"photo": photo_meta, "audio": audio_meta},
                audio_duration_s=float(audio_meta["duration_s"]),
                watermark_id=new_watermark_id(),
                stage="received",
            )
            audit.record(
                "job.created",
                target=job,
                partner_id=partner.id,
                payload={"consent_id": str(consent.id), "options": options, "audio_s": job.audio_duration_s},
            )
            _fan_out(job, "job.received")
            enqueue.after_commit(SCREEN_TASK, job.id)
    except Exception:
        for name in stored:
            storage.delete(name)
        raise
    return job


def job_transition(
    *,
    job_id: object,
    expected: list[str] | tuple[str, ...],
    new: str,
    fields: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
) -> Job | None:
    """Move a job from one of ``expected`` to ``new`` (guarded update); None when someone else moved it first."""
    now = timezone.now()
    updates: dict[str, Any] = {"status": new, "status_changed_at": now, "updated_at": now, **(fields or {})}
    if new in FINAL_STATUSES:
        updates.setdefault("finished_at", now)
    with transaction.atomic():
        if not Job.objects.filter(id=job_id, status__in=list(expected), **(where or {})).update(**updates):
            return None
        job = Job.objects.get(id=job_id)
        audit.record(
            f"job.{new}",
            target=job,
            partner_id=job.partner_id,
            payload={"from": list(expected), "reason_codes": job.reason_codes, **(payload or {})},
        )
        _fan_out(job, f"job.{new}")
    metrics.job_transitioned(str(new), (now - job.created_at).total_seconds())
    logger.info("job %s is %s", job.id, new)
    return job


def job_cancel(*, job: Job) -> Job:
    """Cancel in any non-final state; a running render notices at its next batch and stops."""
    moved = job_transition(
        job_id=job.id,
        expected=ACTIVE_STATUSES,
        new=JobStatus.CANCELLED,
        fields={"cancel_requested": True, "stage": "cancelled"},
    )
    if moved is None:
        job.refresh_from_db()
        raise Conflict(f"The job is already {job.status}.", code="job_final", details={"status": job.status})
    return moved


def job_fail(*, job_id: object, code: str, message: str, expected: tuple[str, ...] = ACTIVE_STATUSES) -> Job | None:
    """Fail a job with a reason code (engine errors, exhausted retries)."""
    return job_transition(
        job_id=job_id,
        expected=expected,
        new=JobStatus.FAILED,
        fields={"reason_codes": [code], "error": message[:500], "stage": "failed"},
    )


def purge_expired_inputs(*, now: datetime | None = None) -> int:
    """Delete the inputs of final jobs older than the retention period (outputs stay for verification)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TALKGATE_INPUT_RETENTION_DAYS)
    purged = 0
    for job in Job.objects.filter(
        status__in=list(FINAL_STATUSES), created_at__lt=cutoff, inputs_deleted_at__isnull=True
    ).iterator():
        storage.delete(job.photo)
        storage.delete(job.audio)
        Job.objects.filter(id=job.id).update(inputs_deleted_at=timezone.now())
        purged += 1
    for upload in Upload.objects.filter(created_at__lt=cutoff, deleted_at__isnull=True).iterator():
        storage.delete(upload.file)
        Upload.objects.filter(id=upload.id).update(deleted_at=timezone.now())
    if purged:
        audit.record("retention.inputs_purged", actor="system", payload={"jobs": purged, "cutoff": cutoff})
    return purged
