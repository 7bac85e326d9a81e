"""Consent evidence end to end through the API, tried as an attacker would: a partner holding one photo renders a
talking video of it with this project's own engine and uploads it as the subject's recording. Material: real
photos and espeak-ng speech (see tests/fixtures/faces/LICENSES.md)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import AuditEntry
from moderation import services
from moderation.models import Consent, ConsentEvidence, ConsentStatus, FingerprintKey
from tests.conftest import PartnerActor, tiny_mp4
from tests.moderation.verification.conftest import (
    FACES,
    camera_stand_in,
    load_rgb,
    render_talking,
    write_still_video,
    write_video,
)
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TIGER = FACES / "consent_tiger_orange_piano.wav"  # "... My challenge words are tiger orange piano."
# What a partner must never read: biometric data and the verifier's scores.
SECRET_KEYS = ("verification_report", "fingerprint", "score", "threshold", "timings", "face_embedding", "audio_bits")


def phone_reencode(src: Path, out: Path, scale: float = 0.75, fps: int = 30, bit_rate: int = 250_000) -> Path:
    """``src`` as a phone upload would look: smaller, another frame rate, a low H.264 bit rate (~CRF 30)."""
    import cv2

    from moderation.verification import decode_audio

    with av.open(str(src)) as c:
        rate = float(c.streams.video[0].average_rate or 25)
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    size = (round(frames[0].shape[1] * scale) // 2 * 2, round(frames[0].shape[0] * scale) // 2 * 2)
    n_out = int(len(frames) / rate * fps)
    resized = [cv2.resize(frames[min(len(frames) - 1, int(i * rate / fps))], size, interpolation=cv2.INTER_AREA)
               for i in range(n_out)]  # fmt: skip
    audio = decode_audio(str(src))
    return write_video(resized, audio, out, fps=fps, bit_rate=bit_rate)


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The subject on camera (stand-in), the engine's deepfakes of one photo, a still photo, another person."""
    folder = tmp_path_factory.mktemp("evidence")
    # An id the engine could draw at random; re-encoded like a phone upload its copy once slipped past the
    # detector's scale search (a reference built from the clip's single key frame).
    fake = render_talking(FACES / "obama.jpg", TIGER, folder / "fake.mp4", size=512, watermark_id="aa5c5d9b")
    files = {
        "camera": camera_stand_in(FACES / "obama.jpg", TIGER, folder / "camera.mp4"),
        "deepfake": fake,
        "deepfake_phone": phone_reencode(fake, folder / "fake_phone.mp4"),
        "still": write_still_video(load_rgb(FACES / "obama2.jpg"), TIGER, folder / "still.mp4"),
    }
    return {name: Path(path).read_bytes() for name, path in files.items()}


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


def _upload(actor: PartnerActor, consent: Consent, video: bytes, name: str = "rec.mp4"):  # type: ignore[no-untyped-def]
    return actor.client.post(f"/v1/consents/{consent.id}/evidence",
                             {"recording": SimpleUploadedFile(name, video)}, format="multipart")  # fmt: skip


def _submit(actor: PartnerActor, consent: Consent, video: bytes) -> Consent:
    response = _upload(actor, consent, video)
    assert response.status_code == 202, response.content
    services.evidence_verify(evidence_id=response.json()["id"])  # what the cpu worker's task runs
    consent.refresh_from_db()
    return consent


def test_a_recording_that_passes_every_check_still_goes_to_a_reviewer(alice: PartnerActor, recordings) -> None:  # type: ignore[no-untyped-def]
    consent = _submit(alice, _consent(alice), recordings["camera"])
    assert consent.status == ConsentStatus.NEEDS_REVIEW
    assert consent.reason_codes == ["uploaded_evidence", "policy_review"]
    checks = consent.verification_report["checks"]
    assert all(check["passed"] for check in checks.values()), checks
    again = _upload(alice, consent, recordings["camera"])
    assert again.status_code == 409, "evidence is taken once"


def test_an_upload_is_never_verified_automatically_even_where_policy_allows_it(
    alice: PartnerActor, recordings, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_CONSENT_AUTO_VERIFY = True
    alice.partner.consent_auto_verify = True
    alice.partner.save(update_fields=["consent_auto_verify"])
    consent = _submit(alice, _consent(alice), recordings["camera"])
    assert consent.status == ConsentStatus.NEEDS_REVIEW and consent.reason_codes == ["uploaded_evidence"]


@pytest.mark.parametrize("name", ["deepfake", "deepfake_phone"])
def test_an_engine_made_recording_is_rejected_as_generated_media(alice: PartnerActor, recordings, name) -> None:  # type: ignore[no-untyped-def]
    consent = _submit(alice, _consent(alice), recordings[name])
    assert consent.status == ConsentStatus.REJECTED, consent.verification_report["checks"].get("generated_media")
    assert "generated_media" in consent.reason_codes
    reading = consent.verification_report["checks"]["generated_media"]
    assert reading["passed"] is False and reading["score"] >= reading["threshold"] > 0
    assert reading["reading"]["watermark_detected"] and len(reading["reading"]["watermark_id"]) == 8


def test_a_partner_sees_decisions_and_reasons_but_no_scores_or_biometrics(
    alice: PartnerActor, reviewer, recordings
) -> None:  # type: ignore[no-untyped-def]
    WebhookEndpoint.objects.create(partner=alice.partner, url="https://hooks.alice.example/t", secret="s")
    consent = _submit(alice, _consent(alice), recordings["still"])
    assert "liveness_failed" in consent.reason_codes
    deliveries = WebhookDelivery.objects.filter(event_type__startswith="consent.").order_by("created_at")
    hooks = [d.payload for d in deliveries]
    assert [h["data"]["status"] for h in hooks] == ["verifying", "rejected"]
    for body in (alice.client.get(f"/v1/consents/{consent.id}").json(), alice.client.get("/v1/consents").json(),
                 hooks):  # fmt: skip
        text = json.dumps(body)
        assert "liveness_failed" in text
        assert not [k for k in SECRET_KEYS if f'"{k}"' in text], text

    seen = reviewer.client.get(f"/v1/review/consents/{consent.id}")
    assert seen.status_code == 200
    assert seen.json()["verification_report"]["checks"]["lip_sync"]["threshold"]
    assert seen.json()["evidence"][0]["fingerprint"]["audio_bits"]
    assert reviewer.client.get(f"/v1/review/consents/{consent.id}/evidence").status_code == 200
    views = AuditEntry.objects.filter(event_type="consent.evidence_viewed", target_id=str(consent.id))
    assert sorted(v.payload["what"] for v in views) == ["recording", "report"]


def test_a_recording_reused_by_another_partner_is_caught_through_the_index(
    alice: PartnerActor, bob: PartnerActor, recordings
) -> None:  # type: ignore[no-untyped-def]
    first = _submit(alice, _consent(alice), recordings["camera"])
    assert first.status == ConsentStatus.NEEDS_REVIEW
    assert FingerprintKey.objects.filter(evidence__consent=first).count() >= 8
    replayed = _submit(bob, _consent(bob), recordings["camera"])
    assert replayed.status == ConsentStatus.REJECTED and "replay" in replayed.reason_codes
    assert replayed.verification_report["checks"]["replay"]["compared"] >= 1


def test_rejected_recordings_may_be_retried_until_the_consent_locks_for_a_reviewer(
    alice: PartnerActor, reviewer
) -> None:  # type: ignore[no-untyped-def]
    consent = _consent(alice)
    faceless = tiny_mp4(seconds=2.0)
    for attempt in (1, 2):
        assert _submit(alice, consent, faceless).status == ConsentStatus.REJECTED
        assert alice.client.get(f"/v1/consents/{consent.id}").json()["attempts_left"] == 3 - attempt
        assert _upload(alice, consent, faceless).json()["error"]["code"] == "consent_not_pending"
        renewed = alice.client.post(f"/v1/consents/{consent.id}/challenge")
        assert renewed.status_code == 200 and renewed.json()["status"] == ConsentStatus.PENDING
    locked = _submit(alice, consent, faceless)
    assert locked.status == ConsentStatus.NEEDS_REVIEW and locked.reason_codes[0] == "too_many_attempts"
    assert alice.client.post(f"/v1/consents/{consent.id}/challenge").status_code == 409

    unlock = {"decision": "unlock", "comment": "Spoke with the subject."}
    unlocked = reviewer.client.post(f"/v1/review/consents/{consent.id}/decide", unlock, format="json")
    assert unlocked.status_code == 200 and unlocked.json()["status"] == ConsentStatus.PENDING
    assert alice.client.post(f"/v1/consents/{consent.id}/challenge").status_code == 200


def test_new_challenges_are_limited_per_consent_and_hour(alice: PartnerActor) -> None:
    consent = _consent(alice)  # its creation issued the first challenge of the hour
    codes = [alice.client.post(f"/v1/consents/{consent.id}/challenge").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    refused = alice.client.post(f"/v1/consents/{consent.id}/challenge")
    assert refused.json()["error"]["code"] == "challenge_limit"
    assert 0 < int(refused["Retry-After"]) <= 3600


def test_a_challenge_lives_ten_minutes_by_default(alice: PartnerActor) -> None:
    consent = _consent(alice)
    lifetime = consent.challenge_expires_at - consent.created_at
    assert timedelta(minutes=9) < lifetime <= timedelta(minutes=10, seconds=5)


def headerless_webm(seconds: int) -> bytes:
    """A WebM (VP8 + Opus) lasting ``seconds`` whose header gives no duration, as a live stream writes it."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as c:
        video = c.add_stream("libvpx", rate=2)
        video.width = video.height = 32
        video.pix_fmt = "yuv420p"
        audio = c.add_stream("libopus", rate=48000, layout="mono")
        for i in range(seconds * 2):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i % 255, np.uint8), format="rgb24")
            frame.pts = i
            c.mux(video.encode(frame))
        c.mux(video.encode(None))
        silence = np.zeros((1, 960), np.float32)
        for i in range(seconds * 50):
            af = av.AudioFrame.from_ndarray(silence, format="flt", layout="mono")
            af.sample_rate, af.pts = 48000, i * 960
            c.mux(audio.encode(af))
        c.mux(audio.encode(None))
    data = bytearray(out.getvalue())
    # Segment Info's Duration element (ID 0x4489, an 8-byte float) becomes a Void element of the same size.
    at = data.find(b"\x44\x89\x88")
    assert at > 0
    data[at : at + 11] = b"\xec\x89" + bytes(9)
    return bytes(data)


def test_a_headerless_ten_minute_webm_is_refused_before_anything_is_stored(alice: PartnerActor) -> None:
    webm = headerless_webm(600)
    with av.open(io.BytesIO(webm)) as c:
        assert not c.duration, "the header must not tell the length"
    consent = _consent(alice)
    response = _upload(alice, consent, webm, name="rec.webm")
    assert response.status_code == 400 and response.json()["error"]["code"] == "recording_too_long"
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.PENDING and consent.challenge_used_at is None
    assert not ConsentEvidence.objects.filter(consent=consent).exists()
    folder = f"partners/{alice.partner.id}/inputs/consent-{consent.id}"
    assert not default_storage.exists(folder) or not default_storage.listdir(folder)[1]


@pytest.mark.parametrize(
    ("service", "partner", "expected"),
    [(True, True, ["live_checks_missing"]), (True, False, ["live_checks_missing", "policy_review"])],
)
def test_a_live_recording_without_its_captures_own_checks_still_goes_to_a_reviewer(
    alice: PartnerActor, recordings, settings, service: bool, partner: bool, expected: list[str]
) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_CONSENT_AUTO_VERIFY = service
    alice.partner.consent_auto_verify = partner
    alice.partner.save(update_fields=["consent_auto_verify"])
    consent = _consent(alice)
    evidence = services.evidence_submit(consent=consent, fileobj=io.BytesIO(recordings["camera"]), source="live")
    services.evidence_verify(evidence_id=evidence.id)
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.NEEDS_REVIEW
    assert consent.reason_codes == expected
