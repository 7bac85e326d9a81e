"""Consent evidence end to end through the API, on real material: recordings built from real photos and
espeak-ng speech with the project's own engine (see tests/fixtures/faces/LICENSES.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from moderation import services
from moderation.models import Consent, ConsentStatus
from provenance import credentials, signing
from tests.conftest import FIXTURES, PartnerActor
from tests.moderation.verification.conftest import load_rgb, render_talking, write_still_video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

FACES = FIXTURES / "faces"
TIGER = FACES / "consent_tiger_orange_piano.wav"  # "... My challenge words are tiger orange piano."


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A talking Obama saying the statement, the same as a still photo, and a talking Biden (once per session)."""
    folder = tmp_path_factory.mktemp("evidence")
    talking = render_talking(FACES / "obama.jpg", TIGER, folder / "obama.mp4")
    still = write_still_video(load_rgb(FACES / "obama2.jpg"), TIGER, folder / "still.mp4")
    other = render_talking(FACES / "biden.jpg", TIGER, folder / "biden.mp4")
    return {name: Path(path).read_bytes() for name, path in
            {"talking": talking, "still": still, "other": other}.items()}  # fmt: skip


def _consent(actor: PartnerActor, challenge: str = "tiger orange piano") -> Consent:
    photos = [SimpleUploadedFile(n, (FACES / n).read_bytes()) for n in ("obama.jpg", "obama2.jpg")]
    subject = actor.client.post("/v1/subjects", {"display_name": "Barack", "photos": photos}, format="multipart")
    assert subject.status_code == 201, subject.content
    now = timezone.now()
    created = actor.client.post(
        f"/v1/subjects/{subject.json()['id']}/consents",
        {"use_case": "education", "valid_from": now.isoformat(), "valid_until": (now + timedelta(days=9)).isoformat(),
         "max_generations": 3},
        format="json",
    )  # fmt: skip
    consent = Consent.objects.get(id=created.json()["id"])
    # The fixture speech was recorded for a known challenge; give this capture that phrase.
    consent.challenge_phrase = challenge
    consent.statement = services.statement_text(consent)
    consent.save(update_fields=["challenge_phrase", "statement"])
    return consent


def _submit(actor: PartnerActor, consent: Consent, video: bytes) -> Consent:
    response = actor.client.post(f"/v1/consents/{consent.id}/evidence",
                                 {"recording": SimpleUploadedFile("rec.mp4", video)}, format="multipart")  # fmt: skip
    assert response.status_code == 202, response.content
    services.evidence_verify(evidence_id=response.json()["id"])  # what the cpu worker's task runs
    consent.refresh_from_db()
    return consent


def test_the_subject_speaking_the_statement_and_challenge_is_verified(alice: PartnerActor, recordings) -> None:  # type: ignore[no-untyped-def]
    consent = _submit(alice, _consent(alice), recordings["talking"])
    assert consent.status == ConsentStatus.VERIFIED, consent.verification_report
    checks = consent.verification_report["checks"]
    assert all(check["passed"] for check in checks.values()), checks
    upload = {"recording": SimpleUploadedFile("r.mp4", recordings["talking"])}
    again = alice.client.post(f"/v1/consents/{consent.id}/evidence", upload, format="multipart")
    assert again.status_code == 409, "evidence is taken once"


def test_a_wrong_challenge_phrase_is_not_verified(alice: PartnerActor, recordings) -> None:  # type: ignore[no-untyped-def]
    consent = _submit(alice, _consent(alice, challenge="lemon rocket garden"), recordings["talking"])
    assert consent.status in (ConsentStatus.REJECTED, ConsentStatus.NEEDS_REVIEW)
    assert "challenge_not_spoken" in consent.reason_codes


def test_a_still_photo_with_speech_fails_liveness(alice: PartnerActor, recordings) -> None:  # type: ignore[no-untyped-def]
    consent = _submit(alice, _consent(alice), recordings["still"])
    assert consent.status in (ConsentStatus.REJECTED, ConsentStatus.NEEDS_REVIEW)
    assert "liveness_failed" in consent.reason_codes


def test_a_different_persons_face_is_a_mismatch(alice: PartnerActor, recordings) -> None:  # type: ignore[no-untyped-def]
    consent = _submit(alice, _consent(alice), recordings["other"])
    assert consent.status == ConsentStatus.REJECTED and "face_mismatch" in consent.reason_codes


def test_a_replayed_recording_is_caught(alice: PartnerActor, recordings) -> None:  # type: ignore[no-untyped-def]
    assert _submit(alice, _consent(alice), recordings["talking"]).status == ConsentStatus.VERIFIED
    replayed = _submit(alice, _consent(alice), recordings["talking"])
    assert replayed.status != ConsentStatus.VERIFIED and "replay" in replayed.reason_codes


def test_talkgates_own_signed_output_never_passes_as_a_recording(alice: PartnerActor, recordings) -> None:  # type: ignore[no-untyped-def]
    manifest = signing.manifest_for(job_id="j", watermark_id="deadbeef", duration_s=7, engine_version="e",
                                    policy_version="p", generator_version="0.1.0")  # fmt: skip
    generated = signing.sign_bytes(recordings["talking"], mime="video/mp4", manifest=manifest,
                                   credentials=credentials.credentials())  # fmt: skip
    consent = _submit(alice, _consent(alice), generated)
    assert consent.status == ConsentStatus.REJECTED and "generated_media" in consent.reason_codes
