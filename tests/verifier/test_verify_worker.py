"""Public verification through a real cpu worker process: the web side queues, waits briefly, then hands a ticket."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generation.models import Job
from provenance.watermark import Embedder, testing
from tests.conftest import make_consent
from tests.e2e.conftest import start_worker, stop_worker, wait_for

WM_ID = "0ddba11a"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_verifies_a_marked_clip_and_the_ticket_leads_to_its_job(anon, alice) -> None:  # type: ignore[no-untyped-def]
    consent = make_consent(alice.partner)
    Job.objects.create(partner=alice.partner, consent=consent, options={}, photo="x", audio="y",
                       audio_duration_s=1.0, watermark_id=WM_ID)  # fmt: skip
    clip = testing.make_clip(seed=21, n_frames=50, size=256)
    video = testing.encode(Embedder(WM_ID).embed_batch(clip), 25, crf=23)
    worker = start_worker()
    try:
        first = anon.post("/v1/verify", {"file": SimpleUploadedFile("v.mp4", video)}, format="multipart")
        assert first.status_code in (200, 202), first.content
        if first.status_code == 202:  # the worker was still starting: poll the ticket like a client would
            url = first["Location"]
            done = wait_for(lambda: (r := anon.get(url)).status_code != 202 and r, timeout=120,
                            what="the verification result", worker=worker)  # fmt: skip
        else:
            done = first
        # Once the worker is up, a small marked clip comes back within the POST's own short wait.
        again = anon.post("/v1/verify", {"file": SimpleUploadedFile("v.mp4", video)}, format="multipart")
    finally:
        output = stop_worker(worker)
    body = done.json()
    assert body["origin"] == "talkgate_service" and body["match"]["consent"] == "valid", body
    assert body["watermark"]["watermark_id"] == WM_ID
    assert again.status_code == 200 and again.json()["match"] is not None, again.content
    assert "verifier.tasks.verify_file" in output
