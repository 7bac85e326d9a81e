"""Console personas (a reviewer with a password, a partner member) and review material made directly in the DB."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Role, User
from generation.models import Job, JobStatus
from moderation.models import Consent, ConsentEvidence, ConsentStatus, Subject
from tests.conftest import PartnerActor, photo_bytes, speech_bytes, tiny_mp4

REVIEWER_PASSWORD = "correct horse battery staple"
CHROMIUM = os.environ.get("TALKGATE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


def chromium_or_skip() -> str:
    """The Chromium binary, or a skip (a failure when TALKGATE_REQUIRE_SERVICES=1, as for the other services)."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if not shutil.which(CHROMIUM):
        missing.append(f"Chromium at {CHROMIUM} (make install-browser: apt-get install chromium)")
    if missing:
        what = " and ".join(missing)
        if os.environ.get("TALKGATE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{what} is required (TALKGATE_REQUIRE_SERVICES=1) but not installed")
        pytest.skip(f"needs {what}")
    return CHROMIUM


@pytest.fixture
def media_root(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    """A per-test storage folder (FileSystemStorage follows MEDIA_ROOT changes)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def rita(db: None) -> User:
    """A reviewer who signs in with a password."""
    return services.reviewer_create(
        username="rita", email="rita@talkgate.example", password=REVIEWER_PASSWORD, role=Role.REVIEWER
    )


@pytest.fixture
def rita_client(rita: User) -> Client:
    client = Client()
    client.force_login(rita)
    return client


@pytest.fixture
def mallory(alice: PartnerActor) -> User:
    """A member of Alice's partner: a real account, but not a reviewer."""
    return User.objects.create_user(
        username="mallory", password=REVIEWER_PASSWORD, role=Role.PARTNER_MEMBER, partner=alice.partner
    )


@dataclass
class ReviewMaterial:
    consent: Consent
    evidence: ConsentEvidence
    job: Job


def consent_in_review(partner: object, *, name: str = "Ada Teacher") -> tuple[Consent, ConsentEvidence]:
    """A consent the verifier sent to review, with a real recording and a report whose checks have thresholds."""
    subject = Subject.objects.create(partner=partner, display_name=name, kind="person")
    now = timezone.now()
    report = {
        "decision": "review",
        "reasons": ["lip_sync_uncertain"],
        "checks": {
            "face_match": {"score": 0.41, "threshold": {"pass": 0.5, "fail": 0.6}, "passed": True},
            "lip_sync": {"score": 0.22, "threshold": {"pass": 0.3, "fail": 0.15}, "passed": None},
            "mouth_motion": {"score": 0.05, "threshold": 0.01, "passed": True},
        },
    }
    consent = Consent.objects.create(
        partner=partner, subject=subject, use_case="education", valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=30), max_generations=5, status=ConsentStatus.NEEDS_REVIEW,
        verification_report=report, reason_codes=["lip_sync_uncertain"],
    )  # fmt: skip
    recording = default_storage.save(f"evidence/{consent.id}.mp4", ContentFile(tiny_mp4(1.0)))
    evidence = ConsentEvidence.objects.create(
        consent=consent, recording=recording, size_bytes=default_storage.size(recording), sha256="0" * 64,
        challenge_phrase="seven blue lanterns", decision="review", report=report,
    )  # fmt: skip
    return consent, evidence


def job_in_review(consent: Consent) -> Job:
    """A job screening held for review: its face is close to a protected person."""
    photo = default_storage.save(f"inputs/{consent.id}/photo.jpg", ContentFile(photo_bytes()))
    audio = default_storage.save(f"inputs/{consent.id}/audio.wav", ContentFile(speech_bytes()))
    return Job.objects.create(
        partner=consent.partner, consent=consent, status=JobStatus.NEEDS_REVIEW, options={}, photo=photo, audio=audio,
        audio_duration_s=2.0, reason_codes=["protected_person_match"],
        screening_report={
            "face": {"distance": 0.3123, "threshold": 0.5, "matches_subject": True},
            "protected": {"closest_person_id": None, "closest_name": "Famous Singer", "distance": 0.4,
                          "threshold": 0.45},
        },
    )  # fmt: skip


@pytest.fixture
def material(alice: PartnerActor, media_root: Path) -> ReviewMaterial:
    consent, evidence = consent_in_review(alice.partner)
    return ReviewMaterial(consent=consent, evidence=evidence, job=job_in_review(consent))
