"""Pipeline steps called directly: screening decisions, guarded transitions, signing checks, sweep, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEntry
from core import storage
from generation import pipeline, services
from generation.models import Job, JobStatus
from moderation.models import Consent, ConsentStatus
from tests.conftest import PartnerActor, make_consent, tiny_mp4
from tests.generation.conftest import post_job

pytestmark = pytest.mark.django_db


def _job(actor: PartnerActor, consent: Consent | None = None) -> Job:
    response = post_job(actor, consent_id=(consent or make_consent(actor.partner)).id)
    assert response.status_code == 202, response.content
    return Job.objects.get(id=response.json()["id"])


def test_screening_approves_a_verified_consent_and_counts_one_generation(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner, max_generations=2)
    job = _job(alice, consent)
    assert pipeline.screen_job(str(job.id)) == JobStatus.QUEUED
    job.refresh_from_db()
    consent.refresh_from_db()
    assert job.status == JobStatus.QUEUED and consent.generations_used == 1
    assert job.screening_report["consent"]["reasons"] == []
    # A redelivered task is a no-op: nothing is counted twice.
    assert pipeline.screen_job(str(job.id)) is None
    consent.refresh_from_db()
    assert consent.generations_used == 1
    events = list(AuditEntry.objects.filter(target_id=str(job.id)).values_list("event_type", flat=True))
    assert events == ["job.created", "job.screening", "job.queued"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": ConsentStatus.REVOKED}, "consent_revoked"),
        ({"status": ConsentStatus.PENDING}, "consent_not_verified"),
        ({"valid_until_delta": -1}, "consent_expired"),
        ({"generations_used": 3}, "consent_exhausted"),
        ({"use_case": "marketing"}, "consent_out_of_scope"),
    ],
)
def test_screening_rejects_unusable_consents_with_a_reason_code(
    alice: PartnerActor, change: dict[str, object], code: str
) -> None:
    consent = make_consent(alice.partner, max_generations=3)
    job = _job(alice, consent)
    if "valid_until_delta" in change:
        Consent.objects.filter(id=consent.id).update(
            valid_from=timezone.now() - timedelta(days=2), valid_until=timezone.now() - timedelta(seconds=1)
        )
    else:
        Consent.objects.filter(id=consent.id).update(**change)
    assert pipeline.screen_job(str(job.id)) == JobStatus.REJECTED
    job.refresh_from_db()
    assert job.status == JobStatus.REJECTED and job.reason_codes == [code]


def test_the_last_generation_goes_to_one_job_only(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner, max_generations=1)
    first, second = _job(alice, consent), _job(alice, consent)
    assert pipeline.screen_job(str(first.id)) == JobStatus.QUEUED
    assert pipeline.screen_job(str(second.id)) == JobStatus.REJECTED
    second.refresh_from_db()
    assert second.reason_codes == ["consent_exhausted"]


def test_a_cancelled_job_is_not_screened(alice: PartnerActor) -> None:
    job = _job(alice)
    services.job_cancel(job=job)
    assert pipeline.screen_job(str(job.id)) is None
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def _signing_job(actor: PartnerActor, content: bytes | None = None) -> Job:
    job = _job(actor)
    import hashlib

    content = content if content is not None else tiny_mp4()
    name = storage.save_bytes(storage.output_name(actor.partner.id, job.id), content)
    Job.objects.filter(id=job.id).update(
        status=JobStatus.SIGNING, output=name, output_meta={"sha256": hashlib.sha256(content).hexdigest()}
    )
    job.refresh_from_db()
    return job


def _manifest(job: Job):  # type: ignore[no-untyped-def]
    from django.core.files.storage import default_storage

    from provenance import credentials, signing

    with default_storage.open(job.output, "rb") as handle:
        return signing.read_manifest(handle, mime="video/mp4", trust_anchors_pem=credentials.trust_anchors_pem())


def test_signing_embeds_a_trusted_manifest_and_finishes_the_job(alice: PartnerActor) -> None:
    job = _signing_job(alice)
    assert pipeline.sign_job(str(job.id)) == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.finished_at
    report = _manifest(job)
    assert report.state == "trusted" and report.ai_generated
    assert report.watermark_id == job.watermark_id and report.talkgate_job == str(job.id)
    assert "c2pa.training-mining" in report.assertions
    assert pipeline.sign_job(str(job.id)) is None


def test_a_sign_task_rerun_after_a_crash_recognises_the_signed_file(alice: PartnerActor) -> None:
    job = _signing_job(alice)
    pipeline.sign_job(str(job.id))
    job.refresh_from_db()
    # As if the worker died after replacing the file but before the status moved on.
    Job.objects.filter(id=job.id).update(status=JobStatus.SIGNING)
    assert pipeline.sign_job(str(job.id)) == JobStatus.SUCCEEDED
    assert _manifest(job).state == "trusted"


def test_one_flipped_byte_in_the_media_is_reported_as_tampering(alice: PartnerActor) -> None:
    job = _signing_job(alice)
    pipeline.sign_job(str(job.id))
    job.refresh_from_db()
    from django.core.files.storage import default_storage

    with default_storage.open(job.output, "rb") as handle:
        data = bytearray(handle.read())
    data[data.rfind(b"mdat") + 200] ^= 0x01
    storage.save_bytes(job.output, bytes(data))
    assert _manifest(job).state == "tampered"


def test_signing_fails_a_job_whose_output_changed(alice: PartnerActor) -> None:
    job = _signing_job(alice)
    storage.save_bytes(job.output, b"something else")
    assert pipeline.sign_job(str(job.id)) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.reason_codes == ["output_corrupt"]


def test_signing_a_job_whose_consent_was_revoked_marks_it_revoked(alice: PartnerActor) -> None:
    job = _signing_job(alice)
    Consent.objects.filter(id=job.consent_id).update(status=ConsentStatus.REVOKED)
    assert pipeline.sign_job(str(job.id)) == JobStatus.REVOKED


def test_sweep_requeues_stuck_jobs_and_fails_them_after_the_attempt_limit(alice: PartnerActor, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_MAX_JOB_ATTEMPTS = 2
    job = _job(alice)
    later = timezone.now() + timedelta(seconds=settings.TALKGATE_STUCK_AFTER_S + 5)
    assert pipeline.sweep_stuck_jobs(now=later) == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert job.attempts == 1 and job.status == JobStatus.RECEIVED
    # Not stuck any more right after a requeue.
    assert pipeline.sweep_stuck_jobs(now=later) == {"requeued": 0, "failed": 0}
    even_later = later + timedelta(seconds=settings.TALKGATE_STUCK_AFTER_S + 5)
    assert pipeline.sweep_stuck_jobs(now=even_later) == {"requeued": 1, "failed": 0}
    final = even_later + timedelta(seconds=settings.TALKGATE_STUCK_AFTER_S + 5)
    assert pipeline.sweep_stuck_jobs(now=final) == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.reason_codes == ["stuck"]


def test_retention_deletes_old_inputs_and_keeps_outputs(alice: PartnerActor, settings) -> None:  # type: ignore[no-untyped-def]
    job = _signing_job(alice)
    pipeline.sign_job(str(job.id))
    job.refresh_from_db()
    from django.core.files.storage import default_storage

    assert default_storage.exists(job.photo) and default_storage.exists(job.audio)
    assert services.purge_expired_inputs() == 0
    later = timezone.now() + timedelta(days=settings.TALKGATE_INPUT_RETENTION_DAYS + 1)
    assert services.purge_expired_inputs(now=later) == 1
    job.refresh_from_db()
    assert job.inputs_deleted_at is not None
    assert not default_storage.exists(job.photo) and not default_storage.exists(job.audio)
    assert default_storage.exists(job.output)
