"""The generations API: create, idempotency, list/filter, detail, cancel, video links, quotas, isolation."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Scope
from generation.models import IdempotencyRecord, Job, JobStatus
from tests.conftest import PartnerActor, make_actor, make_consent, photo_bytes, speech_bytes
from tests.generation.conftest import post_job

pytestmark = pytest.mark.django_db


def test_multipart_job_is_accepted_stored_per_partner_and_audited(alice: PartnerActor) -> None:
    response = post_job(alice, size=256, fps=25, gaze="left", emotion="happy", seed=7)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "received" and body["progress"] == 0
    assert body["options"]["size"] == 256 and body["options"]["gaze"] == "left" and body["options"]["seed"] == 7
    assert body["inputs"]["photo"]["width"] > 0 and body["inputs"]["audio"]["duration_s"] > 1
    assert response["Location"] == f"/v1/generations/{body['id']}"
    job = Job.objects.get(id=body["id"])
    assert job.photo.startswith(f"partners/{alice.partner.id}/inputs/{job.id}/")
    assert job.watermark_id
    from accounts.models import AuditEntry

    assert AuditEntry.objects.filter(event_type="job.created", target_id=str(job.id)).exists()


def test_json_job_with_upload_ids(alice: PartnerActor) -> None:
    photo = alice.client.post(
        "/v1/uploads", {"kind": "photo", "file": SimpleUploadedFile("p.jpg", photo_bytes())}, format="multipart"
    ).json()
    audio = alice.client.post(
        "/v1/uploads", {"kind": "audio", "file": SimpleUploadedFile("a.wav", speech_bytes())}, format="multipart"
    ).json()
    consent = make_consent(alice.partner)
    response = alice.client.post(
        "/v1/generations",
        {"consent_id": str(consent.id), "photo_upload_id": photo["id"], "audio_upload_id": audio["id"]},
        format="json",
    )
    assert response.status_code == 202, response.content
    assert Job.objects.get(id=response.json()["id"]).photo.endswith("photo.png")


def test_both_or_neither_input_forms_is_a_validation_error(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner)
    response = alice.client.post("/v1/generations", {"consent_id": str(consent.id)}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"photo"}


@pytest.mark.parametrize(
    ("option", "value"),
    [("size", 100), ("size", 500), ("fps", 0), ("gaze", "sideways"), ("emotion", "furious"), ("motion", -1),
     ("head_distance", 9), ("seed", -3), ("framing", "zoom")],
)  # fmt: skip
def test_out_of_range_options_are_refused(alice: PartnerActor, option: str, value: object) -> None:
    response = post_job(alice, **{option: value})
    assert response.status_code == 400
    assert option in response.json()["error"]["details"]
    assert Job.objects.count() == 0


def test_unknown_consent_is_404(alice: PartnerActor) -> None:
    response = post_job(alice, consent_id="6f1c0d5e-0000-4000-8000-000000000000")
    assert response.status_code == 404 and response.json()["error"]["code"] == "consent_not_found"


def test_same_idempotency_key_and_body_replays_the_first_answer(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner)
    first = post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "abc-1"})
    again = post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Job.objects.count() == 1


def test_same_key_with_a_different_body_is_422(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner)
    post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "abc-2"})
    changed = post_job(alice, consent_id=consent.id, seed=99, headers={"Idempotency-Key": "abc-2"})
    assert changed.status_code == 422 and changed.json()["error"]["code"] == "idempotency_key_reused"
    assert Job.objects.count() == 1


def test_a_duplicate_while_the_first_is_in_flight_is_409(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner)
    first = post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "abc-3"})
    assert first.status_code == 202
    # Put the record back in the state a concurrent first request holds it in while it is being processed.
    IdempotencyRecord.objects.filter(key="abc-3").update(completed=False, response_status=None, response_body=None)
    duplicate = post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "abc-3"})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "idempotency_in_progress"
    assert Job.objects.count() == 1


def test_an_in_progress_record_past_its_lifetime_no_longer_blocks_a_retry(alice: PartnerActor, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_IDEMPOTENCY_TTL_HOURS = 24
    consent = make_consent(alice.partner)
    # What a request that crashed mid-flight leaves behind, a day and a bit ago.
    first = post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "crashed"})
    assert first.status_code == 202
    stale = timezone.now() - timedelta(hours=25)
    IdempotencyRecord.objects.filter(key="crashed").update(completed=False, response_body=None, created_at=stale)
    retry = post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "crashed"})
    assert retry.status_code == 202 and "Idempotent-Replayed" not in retry
    record = IdempotencyRecord.objects.get(key="crashed")
    assert record.completed and record.created_at > stale
    # A fresh retry of the new request replays it, as usual.
    again = post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "crashed"})
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == retry.json()["id"]


def test_records_past_their_lifetime_are_swept_by_the_beat_task_and_the_command(alice: PartnerActor, settings) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import call_command

    from generation.tasks import sweep_idempotency_records

    old = timezone.now() - timedelta(hours=settings.TALKGATE_IDEMPOTENCY_TTL_HOURS, minutes=1)
    for key, done in (("old-done", True), ("old-stuck", False), ("new", True)):
        record = IdempotencyRecord.objects.create(partner=alice.partner, key=key, request_hash="x", completed=done)
        if key.startswith("old"):
            IdempotencyRecord.objects.filter(id=record.id).update(created_at=old)
    assert sweep_idempotency_records() == 2
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    IdempotencyRecord.objects.filter(key="new").update(created_at=old)
    call_command("sweep_idempotency_records", stdout=io.StringIO())
    assert not IdempotencyRecord.objects.exists()


def test_a_refused_request_is_replayed_as_the_same_refusal(alice: PartnerActor) -> None:
    alice.partner.max_concurrent_jobs = 1
    alice.partner.save()
    consent = make_consent(alice.partner)
    assert post_job(alice, consent_id=consent.id).status_code == 202
    first = post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "k"})
    Job.objects.update(status=JobStatus.SUCCEEDED)
    replay = post_job(alice, consent_id=consent.id, headers={"Idempotency-Key": "k"})
    assert first.status_code == replay.status_code == 429
    assert replay.json()["error"]["code"] == "quota_concurrent_jobs"


def test_list_filters_and_pages(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner)
    ids = [post_job(alice, consent_id=consent.id).json()["id"] for _ in range(3)]
    Job.objects.filter(id=ids[0]).update(status=JobStatus.SUCCEEDED)
    assert [j["id"] for j in alice.client.get("/v1/generations?status=succeeded").json()["results"]] == [ids[0]]
    page = alice.client.get("/v1/generations?page_size=2").json()
    second = alice.client.get(page["next"]).json()
    assert [j["id"] for j in page["results"] + second["results"]] == ids[::-1]
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert alice.client.get("/v1/generations", {"created_after": future}).json()["results"] == []
    bad = alice.client.get("/v1/generations?status=nonsense")
    assert bad.status_code == 400


def test_cancel_works_in_a_non_final_state_and_not_after(alice: PartnerActor) -> None:
    job_id = post_job(alice).json()["id"]
    cancelled = alice.client.post(f"/v1/generations/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = alice.client.post(f"/v1/generations/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_final"


def test_video_is_409_until_the_job_succeeds(alice: PartnerActor) -> None:
    job_id = post_job(alice).json()["id"]
    response = alice.client.get(f"/v1/generations/{job_id}/video")
    assert response.status_code == 409 and response.json()["error"]["code"] == "video_not_ready"


def test_signed_video_link_serves_the_file_and_expires(alice: PartnerActor, media_root, settings) -> None:  # type: ignore[no-untyped-def]
    job_id = post_job(alice).json()["id"]
    job = Job.objects.get(id=job_id)
    from core import storage

    name = storage.save_bytes(storage.output_name(alice.partner.id, job.id), b"\x00\x00\x00\x18ftypmp42 fake")
    Job.objects.filter(id=job_id).update(status=JobStatus.SUCCEEDED, output=name)
    redirect = alice.client.get(f"/v1/generations/{job_id}/video")
    assert redirect.status_code == 302
    link = redirect["Location"]
    assert link.startswith("/v1/media/videos/")
    served = alice.client.get(link)
    assert served.status_code == 200 and served["Content-Type"] == "video/mp4"
    assert b"".join(served.streaming_content).endswith(b"fake")
    tampered = alice.client.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert tampered.status_code == 404 and tampered.json()["error"]["code"] == "link_invalid"
    settings.TALKGATE_VIDEO_URL_TTL_S = -1
    expired = alice.client.get(link)
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "link_expired"


def test_revoked_jobs_withdraw_their_video(alice: PartnerActor) -> None:
    job_id = post_job(alice).json()["id"]
    Job.objects.filter(id=job_id).update(status=JobStatus.REVOKED, output="x.mp4")
    response = alice.client.get(f"/v1/generations/{job_id}/video")
    assert response.status_code == 410 and response.json()["error"]["code"] == "job_revoked"


def test_concurrent_job_quota_is_429_and_usage_shows_it(alice: PartnerActor) -> None:
    alice.partner.max_concurrent_jobs = 2
    alice.partner.save()
    consent = make_consent(alice.partner)
    assert [post_job(alice, consent_id=consent.id).status_code for _ in range(3)] == [202, 202, 429]
    usage = alice.client.get("/v1/usage").json()
    assert usage["concurrent_jobs_active"] == 2 and usage["concurrent_jobs_limit"] == 2


def test_monthly_seconds_quota_is_403_with_what_is_left(alice: PartnerActor) -> None:
    alice.partner.monthly_video_seconds = 5
    alice.partner.save()
    first = post_job(alice)
    assert first.status_code == 202
    used = first.json()["inputs"]["audio"]["duration_s"]
    second = post_job(alice)
    assert second.status_code == 403
    error = second.json()["error"]
    assert error["code"] == "quota_monthly_seconds"
    assert error["details"]["remaining_s"] == pytest.approx(5 - used, abs=0.01)
    usage = alice.client.get("/v1/usage").json()
    assert usage["video_seconds_used"] == pytest.approx(used, abs=0.01)
    assert usage["video_seconds_remaining"] == pytest.approx(5 - used, abs=0.01)


def test_rejected_jobs_do_not_count_against_the_month(alice: PartnerActor) -> None:
    alice.partner.monthly_video_seconds = 5
    alice.partner.save()
    job_id = post_job(alice).json()["id"]
    Job.objects.filter(id=job_id).update(status=JobStatus.REJECTED)
    assert post_job(alice).status_code == 202


def test_a_read_only_key_cannot_create_or_cancel(db: None) -> None:
    reader = make_actor("Reader Co", scopes=[Scope.READ])
    assert post_job(reader).status_code == 403
    assert reader.client.get("/v1/generations").status_code == 200


class TestIsolation:
    """Bob's partner cannot see or touch anything of Alice's."""

    def test_bob_cannot_see_alices_jobs(self, alice: PartnerActor, bob: PartnerActor) -> None:
        job_id = post_job(alice).json()["id"]
        assert bob.client.get("/v1/generations").json()["results"] == []
        for path in (f"/v1/generations/{job_id}", f"/v1/generations/{job_id}/video"):
            response = bob.client.get(path)
            assert response.status_code == 404 and response.json()["error"]["code"] == "job_not_found"

    def test_bob_cannot_cancel_alices_job(self, alice: PartnerActor, bob: PartnerActor) -> None:
        job_id = post_job(alice).json()["id"]
        assert bob.client.post(f"/v1/generations/{job_id}/cancel").status_code == 404
        assert Job.objects.get(id=job_id).status == JobStatus.RECEIVED

    def test_bob_cannot_use_alices_consent_or_uploads(self, alice: PartnerActor, bob: PartnerActor) -> None:
        consent = make_consent(alice.partner)
        assert post_job(bob, consent_id=consent.id).json()["error"]["code"] == "consent_not_found"
        photo = alice.client.post(
            "/v1/uploads", {"kind": "photo", "file": SimpleUploadedFile("p.jpg", photo_bytes())}, format="multipart"
        ).json()
        audio = alice.client.post(
            "/v1/uploads", {"kind": "audio", "file": SimpleUploadedFile("a.wav", speech_bytes())}, format="multipart"
        ).json()
        response = bob.client.post(
            "/v1/generations",
            {"consent_id": str(make_consent(bob.partner).id), "photo_upload_id": photo["id"],
             "audio_upload_id": audio["id"]},
            format="json",
        )  # fmt: skip
        assert response.status_code == 404 and response.json()["error"]["code"] == "upload_not_found"

    def test_idempotency_keys_are_per_partner(self, alice: PartnerActor, bob: PartnerActor) -> None:
        a = post_job(alice, headers={"Idempotency-Key": "shared"})
        b = post_job(bob, headers={"Idempotency-Key": "shared"})
        assert a.status_code == b.status_code == 202 and a.json()["id"] != b.json()["id"]

    def test_usage_is_per_partner(self, alice: PartnerActor, bob: PartnerActor) -> None:
        post_job(alice)
        assert bob.client.get("/v1/usage").json()["concurrent_jobs_active"] == 0
