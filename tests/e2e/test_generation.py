"""End to end through real worker processes: POST -> screen -> render (engine) -> sign -> downloadable MP4."""

from __future__ import annotations

import io
import os
import signal
from datetime import timedelta
from pathlib import Path

import av
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEntry
from generation import pipeline
from generation.models import FINAL_STATUSES, Job, JobStatus
from gpu_worker import engine as warp
from tests.conftest import ENGINE_FIXTURES, PartnerActor, make_actor, make_consent
from tests.e2e.conftest import running_worker, start_worker, stop_worker, wait_for
from tests.generation.conftest import post_job

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LONG_SPEECH = (ENGINE_FIXTURES / "harvard_16k.wav").read_bytes()  # 10.8 s of the Harvard sentences


@pytest.fixture
def alice(tmp_path: Path, settings) -> PartnerActor:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return make_actor("Alice Learning")


def _job(job_id: str) -> Job:
    return Job.objects.get(id=job_id)


def _verify(client: APIClient, name: str, data: bytes) -> dict:  # type: ignore[type-arg]
    """POST /v1/verify after the worker stopped: its task runs here, in Celery's eager mode (the worker's code)."""
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        response = client.post("/v1/verify", {"file": SimpleUploadedFile(name, data)}, format="multipart")
    finally:
        app.conf.task_always_eager = False
    assert response.status_code == 200, response.content
    return response.json()


def _outputs(partner_id: object) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "partners" / str(partner_id) / "outputs"
    return sorted(folder.glob("*")) if folder.exists() else []


def test_a_job_goes_from_post_to_a_downloadable_mp4(alice: PartnerActor) -> None:
    with running_worker("cpu,gpu") as worker:
        # 512 px: at 256 px a 3.6 s clip holds too few watermark tiles to be read back (see the closing notes).
        response = post_job(alice, consent_id=make_consent(alice.partner).id, size=512, fps=25, seed=5)
        assert response.status_code == 202, response.content
        job_id = response.json()["id"]
        seen: set[tuple[str, int]] = set()

        def finished() -> bool:
            job = alice.client.get(f"/v1/generations/{job_id}").json()
            seen.add((job["status"], job["progress"]))
            return job["status"] in FINAL_STATUSES

        wait_for(finished, timeout=240, what="the job to finish", worker=worker)
    job = _job(job_id)
    assert job.status == JobStatus.SUCCEEDED, (job.reason_codes, job.error)
    assert job.progress == 100 and job.output_meta["width"] == 512
    assert (job.engine_name, job.engine_version) == (warp.NAME, warp.VERSION)
    assert any(status == "rendering" for status, _ in seen)
    trail = list(AuditEntry.objects.filter(target_id=job_id, kind="event").values_list("event_type", flat=True))
    assert trail[:6] == ["job.created", "job.screening", "job.queued", "job.rendering", "job.signing", "job.succeeded"]

    link = alice.client.get(f"/v1/generations/{job_id}/video")["Location"]
    served = alice.client.get(link)
    video = b"".join(served.streaming_content)
    with av.open(io.BytesIO(video)) as container:
        streams = {s.type: s for s in container.streams}
        assert streams["video"].codec_context.name == "h264" and streams["audio"].codec_context.name == "aac"
        assert (streams["video"].codec_context.width, streams["video"].codec_context.height) == (512, 512)
        frames = sum(1 for _ in container.decode(video=0))
    expected = job.inputs_meta["audio"]["duration_s"]
    assert frames / 25 == pytest.approx(expected, abs=0.1)
    assert len(_outputs(alice.partner.id)) == 1

    # The output verifies: a trusted manifest naming this job's watermark; the public sees no partner data.
    body = _verify(alice.client, "suspect.mp4", video)
    assert body["c2pa"]["state"] == "trusted" and body["c2pa"]["watermark_id"] == job.watermark_id
    assert body["c2pa"]["engine"] == f"{warp.NAME} {warp.VERSION}"
    assert body["match"]["made_by_talkgate"] is True and body["match"]["consent"] == "valid"
    assert "partner" not in body["match"] and "audit_trail" not in body["match"]
    assert body["watermark"]["detected"] and body["watermark"]["watermark_id"] == job.watermark_id
    assert body["match"]["found_by"] == "watermark"

    # Re-encoded (as an upload platform would): the manifest is gone, the watermark still names the job.
    reencoded = _reencode(video, crf=23, scale=1.0)
    again = _verify(alice.client, "s.mp4", reencoded)
    assert again["c2pa"]["state"] == "absent"
    assert again["match"]["found_by"] == "watermark"


def _reencode(data: bytes, *, crf: int, scale: float) -> bytes:
    """What an upload platform does: decode, downscale, H.264 at another quality, no metadata kept."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as src, av.open(out, mode="w", format="mp4") as dst:
        stream = dst.add_stream("libx264", rate=25, options={"crf": str(crf), "preset": "veryfast"})
        first = True
        for frame in src.decode(video=0):
            if first:
                stream.width, stream.height = int(frame.width * scale) // 2 * 2, int(frame.height * scale) // 2 * 2
                stream.pix_fmt = "yuv420p"
                first = False
            dst.mux(stream.encode(frame.reformat(width=stream.width, height=stream.height, format="yuv420p")))
        dst.mux(stream.encode(None))
    return out.getvalue()


def test_cancel_during_render_stops_at_the_next_batch_and_leaves_no_output(alice: PartnerActor, tmp_path: Path) -> None:
    consent = make_consent(alice.partner)
    # The gated worker holds the render after its first batch until the cancel lands, so the cancel always
    # meets a render in progress (never one already signing or done), however fast the machine is.
    gate = tmp_path / "gate"
    gate.mkdir()
    with running_worker("cpu,gpu", app="tests.e2e.gated_worker", TALKGATE_TEST_RENDER_GATE=str(gate)) as worker:
        job_id = post_job(alice, consent_id=consent.id, audio=LONG_SPEECH, size=256).json()["id"]
        wait_for(lambda: (gate / f"{job_id}.paused").exists(), timeout=180, what="the render's first batch",
                 worker=worker)  # fmt: skip
        assert _job(job_id).status == JobStatus.RENDERING
        cancelled = alice.client.post(f"/v1/generations/{job_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        (gate / "release").touch()  # later renders run straight through
        # The worker is free again soon: a short job behind it finishes.
        second = post_job(alice, consent_id=consent.id, size=256).json()["id"]
        wait_for(lambda: _job(second).status in FINAL_STATUSES, timeout=240, what="the second job", worker=worker)
    job = _job(job_id)
    assert job.status == JobStatus.CANCELLED and job.output == ""
    trail = AuditEntry.objects.filter(target_id=job_id, kind="event").values_list("event_type", flat=True)
    assert "job.signing" not in trail
    assert _job(second).status == JobStatus.SUCCEEDED
    assert [p.stem for p in _outputs(alice.partner.id)] == [second]


def test_a_worker_killed_mid_render_is_replaced_and_the_job_finishes_once(alice: PartnerActor) -> None:
    redis_broker = settings.CELERY_BROKER_URL.startswith("redis")
    # On Redis a killed worker's unacked task comes back after the visibility timeout; keep it short here.
    fast_redelivery = {"CELERY_VISIBILITY_TIMEOUT": "20", "CELERY_UNACKED_RESTORE_INTERVAL": "2",
                       "CELERY_UNACKED_RESTORE_THROTTLE": "1"}  # fmt: skip
    worker = start_worker("cpu,gpu", **fast_redelivery)
    try:
        job_id = post_job(alice, consent_id=make_consent(alice.partner).id, audio=LONG_SPEECH, size=256).json()["id"]
        wait_for(lambda: _job(job_id).status == JobStatus.RENDERING and _job(job_id).progress >= 10,
                 timeout=180, what="the render to start", worker=worker)  # fmt: skip
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        stop_worker(worker)
    assert _job(job_id).status == JobStatus.RENDERING
    with running_worker("cpu,gpu", **fast_redelivery) as replacement:
        if not redis_broker:
            # The filesystem broker has no redelivery: the periodic sweep is what finds the stuck job.
            later = timezone.now() + timedelta(seconds=settings.TALKGATE_STUCK_AFTER_S + 1)
            assert pipeline.sweep_stuck_jobs(now=later)["requeued"] == 1
        wait_for(lambda: _job(job_id).status in FINAL_STATUSES, timeout=300, what="the retried job",
                 worker=replacement)  # fmt: skip
    job = _job(job_id)
    assert job.status == JobStatus.SUCCEEDED, (job.reason_codes, job.error)
    assert job.attempts >= 2
    assert [p.stem for p in _outputs(alice.partner.id)] == [job_id], "exactly one output file"
    events = list(AuditEntry.objects.filter(target_id=job_id).values_list("event_type", flat=True))
    assert events.count("job.succeeded") == 1 and "job.render_restarted" in events
