"""The usage page: jobs per day by outcome, rejection reasons, seconds generated, quota use and p95 latency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from console.usage import percentile, usage
from generation.models import Job, JobStatus
from tests.conftest import PartnerActor

pytestmark = pytest.mark.django_db


def _job(partner: object, status: str, *, days_ago: int = 0, latency_s: float | None = None, **fields: object) -> Job:
    created = timezone.now() - timedelta(days=days_ago)
    job = Job.objects.create(partner=partner, status=status, options={}, photo="p", audio="a", audio_duration_s=4.0,
                             **fields)  # fmt: skip
    finished = created + timedelta(seconds=latency_s) if latency_s is not None else None
    Job.objects.filter(id=job.id).update(created_at=created, finished_at=finished)
    return job


def test_percentile_is_an_observed_value() -> None:
    assert percentile([], 95) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([1.0, 2.0, 100.0], 50) == 2.0


def test_usage_counts_outcomes_reasons_seconds_and_latency(alice: PartnerActor, bob: PartnerActor) -> None:
    for latency in (10, 20, 30):
        _job(alice.partner, JobStatus.SUCCEEDED, latency_s=latency, output_meta={"duration_s": 5.0})
    _job(alice.partner, JobStatus.REJECTED, days_ago=2, reason_codes=["face_mismatch"])
    _job(alice.partner, JobStatus.REJECTED, days_ago=2, reason_codes=["face_mismatch", "protected_person"])
    _job(alice.partner, JobStatus.FAILED)
    _job(alice.partner, JobStatus.SUCCEEDED, days_ago=40, latency_s=999)  # outside the window
    _job(bob.partner, JobStatus.SUCCEEDED, latency_s=500, output_meta={"duration_s": 60.0})
    result = usage(partner_id=alice.partner.id)
    assert result.totals == {"succeeded": 3, "rejected": 2, "failed": 1}
    assert result.reasons == [("face_mismatch", 2), ("protected_person", 1)]
    assert result.seconds_generated == 15.0
    assert result.p95_latency_s == pytest.approx(30.0, abs=0.01)
    assert len(result.days) == 30
    two_days_ago = timezone.localdate() - timedelta(days=2)
    assert result.per_day[two_days_ago] == {"rejected": 2}
    assert usage(partner_id=None).totals["succeeded"] == 4


def test_usage_page_draws_a_bar_per_outcome_and_day(rita_client: Client, alice: PartnerActor) -> None:
    _job(alice.partner, JobStatus.SUCCEEDED, latency_s=12, output_meta={"duration_s": 5.0})
    _job(alice.partner, JobStatus.REJECTED, reason_codes=["face_mismatch"])
    response = rita_client.get("/console/usage", {"partner": str(alice.partner.id)})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<rect ") == 2
    assert "1 succeeded" in body and "1 rejected" in body and "face_mismatch" in body
    assert "4.0 of" in body  # quota use this month: the audio of billable jobs, as /v1/usage counts it


def test_usage_page_is_for_reviewers_only(mallory: object) -> None:
    client = Client()
    client.force_login(mallory)
    assert client.get("/console/usage").status_code == 403


def test_console_quota_use_equals_what_v1_usage_reports(rita_client: Client, alice: PartnerActor) -> None:
    # One rule for both: rejected jobs and jobs stopped before rendering cost nothing; the rest count their audio.
    _job(alice.partner, JobStatus.SUCCEEDED, latency_s=12, output_meta={"duration_s": 5.0})
    _job(alice.partner, JobStatus.REJECTED, reason_codes=["face_mismatch"])
    _job(alice.partner, JobStatus.FAILED)  # never started
    _job(alice.partner, JobStatus.CANCELLED, started_at=timezone.now())  # cancelled mid-render: it cost
    _job(alice.partner, JobStatus.RENDERING, started_at=timezone.now())  # in flight: it counts already
    api = alice.client.get("/v1/usage").json()
    assert api["video_seconds_used"] == 12.0
    alice.partner.monthly_video_seconds = 48
    alice.partner.save(update_fields=["monthly_video_seconds"])
    body = rita_client.get("/console/usage", {"partner": str(alice.partner.id)}).content.decode()
    assert "12.0 of 48 s (25 %)" in body
