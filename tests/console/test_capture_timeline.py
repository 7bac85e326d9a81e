"""The consent page shows a live capture's timeline: prompts shown against said or done, head pose, chunk arrivals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from moderation.models import CaptureChunk, CaptureSession, ConsentStatus, EvidenceSource
from tests.conftest import PartnerActor
from tests.console.conftest import consent_in_review

pytestmark = pytest.mark.django_db


def live_capture_in_review(partner: object) -> CaptureSession:
    consent, evidence = consent_in_review(partner, name="Lin Live")
    first = consent.created_at
    at = lambda s: (first + timedelta(seconds=s)).isoformat()  # noqa: E731
    report = {
        "checks": {
            "stream_timing": {"score": 0.4, "threshold": 8.0, "passed": True, "start_s": 0.2},
            "spoken_in_time": {"passed": True, "word_times": [["i", 3.6, 3.8], ["piano", 9.9, 10.4]]},
            "movement": {
                "passed": True,
                "prompts": [{"kind": "turn_left", "turn_deg": 31.0, "peak_s": 15.1, "passed": True}],
            },
        },
        "detail": {"pose_trace": [[t / 10, 30.0 if 140 <= t <= 160 else 0.0, -2.0] for t in range(0, 220)]},
    }
    evidence.source, evidence.report = EvidenceSource.LIVE, report
    evidence.save(update_fields=["source", "report"])
    consent.verification_report, consent.status = report, ConsentStatus.NEEDS_REVIEW
    consent.save(update_fields=["verification_report", "status"])
    session = CaptureSession.objects.create(
        consent=consent, partner=consent.partner, token_hash="t" * 64, status="needs_review", expires_at=first,
        evidence=evidence, first_chunk_at=first, mime_type="video/webm;codecs=vp8,opus",
        prompts=[{"kind": "statement", "text": "I agree ... tiger orange piano.", "revealed_at": at(3.2),
                  "deadline_at": at(13.2), "window_s": 10},
                 {"kind": "turn_left", "text": "Turn your head to your left, then back.", "revealed_at": at(13.2),
                  "deadline_at": at(17.2), "window_s": 4}],
    )  # fmt: skip
    for k in range(22):
        CaptureChunk.objects.create(session=session, seq=k, offset=k * 1000, size=1000, sha256="0" * 64,
                                    received_at=first + timedelta(seconds=k + 1.2))  # fmt: skip
    return session


def test_a_reviewer_sees_when_each_prompt_was_shown_and_answered(alice: PartnerActor, rita_client: Client) -> None:
    session = live_capture_in_review(alice.partner)
    page = rita_client.get(f"/console/consents/{session.consent_id}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Live capture timeline" in text
    assert "tiger orange piano" in text and "3.6 to 10.4 s" in text and "+31° at 15.1 s" in text
    assert '<svg class="pose"' in text and text.count('class="chunk"') == 22
    assert 'class="yaw" points="' in text and "3.0" in text  # shown at 3.2 s on the server, 3.0 s into the media


def test_an_uploaded_recording_has_no_timeline(alice: PartnerActor, rita_client: Client) -> None:
    consent, _ = consent_in_review(alice.partner)
    assert "Live capture timeline" not in rita_client.get(f"/console/consents/{consent.id}").content.decode()
