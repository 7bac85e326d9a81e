"""The job pipeline's steps (screen, render, sign) and the sweep; Celery tasks are thin wrappers around these.

Every step takes a job id, claims the job with a guarded update and returns early when the job has moved on,
so a redelivered task is a no-op (docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import audit
from core import enqueue, metrics, storage
from generation.models import Job, JobStatus
from generation.services import RENDER_TASK, SCREEN_TASK, SIGN_TASK, job_fail, job_transition
from gpu_worker.engine.errors import EngineCancelled, EngineError
from gpu_worker.engine.options import RenderOptions
from moderation import screening
from moderation.models import ConsentStatus

logger = logging.getLogger(__name__)

PROGRESS_WRITE_MIN_INTERVAL_S = 1.0
HEARTBEAT_INTERVAL_S = 15.0
CANCEL_CHECK_INTERVAL_S = 0.5


# --- Screen --------------------------------------------------------------------------------------------------


def screen_job(job_id: str) -> str | None:
    """Run the screening checks and move the job to queued, rejected or needs_review."""
    job = job_transition(
        job_id=job_id, expected=[JobStatus.RECEIVED], new=JobStatus.SCREENING, fields={"stage": "screening"}
    )
    if job is None:
        job = Job.objects.filter(id=job_id).first()
        if job is None or job.status != JobStatus.SCREENING:
            return None  # already screened, or cancelled meanwhile
    result = screening.screen(
        consent=job.consent,
        partner_id=job.partner_id,
        photo_name=job.photo,
        audio_name=job.audio,
        face_index=job.options.get("face_index"),
    )
    report = result.report
    if result.decision == screening.APPROVED:
        queued = _queue_after_approval(job, expected=JobStatus.SCREENING, report=report)
        if queued is not None:
            return queued
        result = screening.ScreeningResult(screening.REJECTED, ["consent_exhausted"], report)
    new = JobStatus.REJECTED if result.decision == screening.REJECTED else JobStatus.NEEDS_REVIEW
    moved = job_transition(
        job_id=job_id,
        expected=[JobStatus.SCREENING],
        new=new,
        fields={"screening_report": report, "reason_codes": result.reason_codes, "stage": new},
    )
    return new if moved else None


def _queue_after_approval(job: Job, *, expected: str, report: dict[str, Any]) -> str | None:
    """Count the generation and queue the render in one transaction (a redelivery cannot count twice).

    Returns ``queued``, or None when no generation is left on the consent (or the job moved on meanwhile).
    """
    with transaction.atomic():
        if job.consent is None or not screening.reserve_generation(consent=job.consent):
            return None
        moved = job_transition(
            job_id=job.id,
            expected=[expected],
            new=JobStatus.QUEUED,
            fields={"screening_report": report, "stage": "queued", "reason_codes": []},
        )
        if moved is None:
            transaction.set_rollback(True)
            return None
        enqueue.after_commit(RENDER_TASK, job.id)
        return JobStatus.QUEUED


def review_decided(*, job_id: str, approve: bool, reviewer_id: object) -> str | None:
    """Apply a reviewer's decision on a job in review."""
    job = Job.objects.select_related("consent").filter(id=job_id, status=JobStatus.NEEDS_REVIEW).first()
    if job is None:
        return None
    report = {**job.screening_report, "review": {"approved": approve, "reviewer": f"user:{reviewer_id}"}}
    if approve:
        if _queue_after_approval(job, expected=JobStatus.NEEDS_REVIEW, report=report):
            return JobStatus.QUEUED
        codes = ["consent_exhausted"]
    else:
        codes = ["reviewer_rejected"]
    moved = job_transition(
        job_id=job_id,
        expected=[JobStatus.NEEDS_REVIEW],
        new=JobStatus.REJECTED,
        fields={"screening_report": report, "reason_codes": codes, "stage": "rejected"},
    )
    return JobStatus.REJECTED if moved else None


# --- Render --------------------------------------------------------------------------------------------------


class _RenderWatch:
    """Streams progress into the job row (throttled) and tells the engine when to stop."""

    def __init__(self, job_id: str, lease: uuid.UUID):
        self.job_id = job_id
        self.lease = lease
        self._last_write = 0.0
        self._last_pct = -1
        self._last_check = 0.0
        self._stop = False

    def _mine(self) -> Any:
        return Job.objects.filter(id=self.job_id, status=JobStatus.RENDERING, render_lease=self.lease)

    def progress(self, fraction: float, stage: str) -> None:
        # The render takes 5..95 %; signing and storing the output take the rest.
        pct = int(5 + 90 * min(max(fraction, 0.0), 1.0))
        now = time.monotonic()
        due = now - self._last_write >= HEARTBEAT_INTERVAL_S
        changed = pct != self._last_pct and now - self._last_write >= PROGRESS_WRITE_MIN_INTERVAL_S
        if due or changed or fraction >= 1.0:
            if not self._mine().update(progress=pct, stage=f"rendering:{stage}"[:32], updated_at=timezone.now()):
                self._stop = True
            self._last_write, self._last_pct = now, pct

    def should_cancel(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._last_check >= CANCEL_CHECK_INTERVAL_S:
            self._last_check = now
            self._stop = not self._mine().exists()
        return self._stop

    def still_mine(self) -> bool:
        return self._mine().exists()


def _claim_render(job_id: str) -> tuple[Job, uuid.UUID] | None:
    lease = uuid.uuid4()
    now = timezone.now()
    job = job_transition(
        job_id=job_id,
        expected=[JobStatus.QUEUED],
        new=JobStatus.RENDERING,
        fields={"render_lease": lease, "attempts": F("attempts") + 1, "started_at": now, "stage": "rendering"},
    )
    if job is not None:
        return job, lease
    # A redelivered task (the worker died) or the sweep: take the render over; the old runner stops.
    with transaction.atomic():
        if not Job.objects.filter(id=job_id, status=JobStatus.RENDERING).update(
            render_lease=lease, attempts=F("attempts") + 1, status_changed_at=now, updated_at=now, progress=0
        ):
            return None
        job = Job.objects.get(id=job_id)
        audit.record("job.render_restarted", target=job, partner_id=job.partner_id, payload={"attempt": job.attempts})
    return job, lease


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def render_job(job_id: str) -> str | None:
    """Render the job's video with the engine, watermark every frame, store the MP4, move on to signing."""
    claimed = _claim_render(job_id)
    if claimed is None:
        return None
    job, lease = claimed
    if job.attempts > settings.TALKGATE_MAX_JOB_ATTEMPTS:
        job_fail(job_id=job_id, code="render_attempts_exhausted", message="too many render attempts",
                 expected=(JobStatus.RENDERING,))  # fmt: skip
        return JobStatus.FAILED
    from gpu_worker.engines import load_engine

    engine = load_engine(settings.TALKGATE_ENGINE)
    watch = _RenderWatch(job_id, lease)
    with (
        storage.local_copy(job.photo) as photo,
        storage.local_copy(job.audio) as audio,
        tempfile.TemporaryDirectory(prefix="talkgate-render-") as tmp,
    ):
        out = Path(tmp) / "out.mp4"
        started = time.monotonic()
        try:
            result = engine.render_to_file(
                str(photo),
                str(audio),
                str(out),
                RenderOptions.from_api(job.options),
                progress=watch.progress,
                should_cancel=watch.should_cancel,
                # The engine embeds the mark into every frame before the lossy encode; the job's id makes the
                # output lead back to this job.
                watermark_id=job.watermark_id,
                watermark_strength=settings.TALKGATE_WATERMARK_STRENGTH,
            )
        except EngineCancelled:
            logger.info("render of %s stopped: cancelled or taken over", job_id)
            return None
        except EngineError as exc:
            moved = job_transition(
                job_id=job_id,
                expected=[JobStatus.RENDERING],
                new=JobStatus.FAILED,
                fields={"reason_codes": [exc.code], "error": str(exc)[:500], "stage": "failed"},
                where={"render_lease": lease},
            )
            return JobStatus.FAILED if moved else None
        render_s = time.monotonic() - started
        metrics.render_finished(engine=engine.name, frames=result.frame_count, video_seconds=result.duration_s,
                                render_seconds=render_s)  # fmt: skip
        if not watch.still_mine():
            return None
        name = storage.save_file(storage.output_name(job.partner_id, job.id), out)
        meta = {
            "width": result.width,
            "height": result.height,
            "fps": result.fps,
            "frame_count": result.frame_count,
            "duration_s": round(result.duration_s, 3),
            # The face was narrower than the engine's full-detail size: animated from an upscaled face region.
            "small_face": result.small_face,
            "size_bytes": out.stat().st_size,
            "sha256": _sha256(out),
            "render_seconds": round(render_s, 2),
            "attempt": job.attempts,
        }
    moved = job_transition(
        job_id=job_id,
        expected=[JobStatus.RENDERING],
        new=JobStatus.SIGNING,
        fields={
            "output": name,
            "output_meta": meta,
            "progress": 95,
            "stage": "signing",
            "engine_name": engine.name,
            "engine_version": engine.version,
        },
        where={"render_lease": lease},
    )
    if moved is None:
        # Cancelled while the file was being stored: leave no output behind.
        if Job.objects.filter(id=job_id, status=JobStatus.CANCELLED).exists():
            storage.delete(name)
        return None
    enqueue.after_commit(SIGN_TASK, job_id)
    return JobStatus.SIGNING


# --- Sign ----------------------------------------------------------------------------------------------------


def sign_job(job_id: str) -> str | None:
    """Final checks on the output, then succeeded (the provenance issue adds the C2PA manifest here)."""
    job = Job.objects.select_related("consent").filter(id=job_id, status=JobStatus.SIGNING).first()
    if job is None:
        return None
    if job.consent is None or job.consent.status == ConsentStatus.REVOKED:
        moved = job_transition(
            job_id=job_id,
            expected=[JobStatus.SIGNING],
            new=JobStatus.REVOKED,
            fields={"reason_codes": ["consent_revoked"], "stage": "revoked"},
        )
        return JobStatus.REVOKED if moved else None
    if not job.output or not default_storage.exists(job.output):
        job_fail(job_id=job_id, code="output_missing", message="the rendered file is missing",
                 expected=(JobStatus.SIGNING,))  # fmt: skip
        return JobStatus.FAILED
    meta = dict(job.output_meta)
    with storage.local_copy(job.output) as path:
        current = _sha256(path)
        if current != meta.get("signed_sha256"):
            if current != meta.get("sha256"):
                job_fail(job_id=job_id, code="output_corrupt", message="the stored output does not match its hash",
                         expected=(JobStatus.SIGNING,))  # fmt: skip
                return JobStatus.FAILED
            try:
                meta.update(_sign_output(job, path))
            except Exception as exc:  # c2pa errors, unreadable media, missing credentials
                logger.exception("signing %s failed", job_id)
                job_fail(job_id=job_id, code="signing_failed", message=f"C2PA signing failed: {exc}"[:500],
                         expected=(JobStatus.SIGNING,))  # fmt: skip
                return JobStatus.FAILED
            # The signed file's hash is recorded before the file is replaced: a crash in between is recognised
            # on the next run (the file then already carries the manifest).
            Job.objects.filter(id=job_id, status=JobStatus.SIGNING).update(output_meta=meta)
            storage.save_file(job.output, path)
    moved = job_transition(
        job_id=job_id,
        expected=[JobStatus.SIGNING],
        new=JobStatus.SUCCEEDED,
        fields={"progress": 100, "stage": "done"},
        payload={"c2pa": True, "signed_sha256": meta.get("signed_sha256")},
    )
    return JobStatus.SUCCEEDED if moved else None


def _sign_output(job: Job, path: Path) -> dict[str, Any]:
    """Embed the signed C2PA manifest into the local file (in place); returns what to record about it."""
    from provenance import credentials, signing

    manifest = signing.manifest_for(
        job_id=str(job.id),
        watermark_id=job.watermark_id or "",
        duration_s=float(job.output_meta.get("duration_s", job.audio_duration_s)),
        engine_name=job.engine_name,
        engine_version=job.engine_version,
        policy_version=screening.POLICY_VERSION,
        generator_version=settings.TALKGATE_VERSION,
    )
    signed = path.with_suffix(".signed.mp4")
    with path.open("rb") as src, signed.open("w+b") as dst:
        signing.sign_stream(src, dst, mime="video/mp4", manifest=manifest, credentials=credentials.credentials())
    signed.replace(path)
    return {"signed_sha256": _sha256(path), "size_bytes": path.stat().st_size, "c2pa": True}


# --- Sweep ---------------------------------------------------------------------------------------------------

_RESEND = {
    JobStatus.RECEIVED: SCREEN_TASK,
    JobStatus.SCREENING: SCREEN_TASK,
    JobStatus.QUEUED: RENDER_TASK,
    JobStatus.RENDERING: RENDER_TASK,
    JobStatus.SIGNING: SIGN_TASK,
}


def sweep_stuck_jobs(*, now: datetime | None = None) -> dict[str, int]:
    """Re-enqueue jobs stuck in a working state past the deadline; fail them after the attempt limit."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TALKGATE_STUCK_AFTER_S)
    counts = {"requeued": 0, "failed": 0}
    for status, task in _RESEND.items():
        # A rendering job proves it is alive through its progress heartbeat (updated_at).
        field = "updated_at" if status == JobStatus.RENDERING else "status_changed_at"
        for job in Job.objects.filter(status=status, **{f"{field}__lt": cutoff}).only("id", "attempts"):
            if job.attempts >= settings.TALKGATE_MAX_JOB_ATTEMPTS:
                if job_fail(job_id=job.id, code="stuck", message=f"stuck in {status}", expected=(status,)):
                    counts["failed"] += 1
                continue
            with transaction.atomic():
                bumped = Job.objects.filter(id=job.id, status=status, **{f"{field}__lt": cutoff})
                # Rendering counts its attempts when it claims; the other states count them here.
                extra = {} if status == JobStatus.RENDERING else {"attempts": F("attempts") + 1}
                if bumped.update(status_changed_at=now, updated_at=now, **extra):
                    audit.record("job.requeued", target=("generation.job", str(job.id)), actor="system",
                                 payload={"status": status})  # fmt: skip
                    enqueue.after_commit(task, job.id)
                    counts["requeued"] += 1
    return counts
