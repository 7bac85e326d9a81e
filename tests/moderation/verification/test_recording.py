"""Verifying consent recordings built from real photos and espeak-ng speech (animation engine and PyAV)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from moderation.verification import (
    NEEDS_REVIEW,
    REJECTED,
    VERIFIED,
    EvidenceReport,
    Thresholds,
    decode_audio,
    make_fingerprint,
    verify_recording,
)

from .conftest import CHALLENGE, ENGINE, STATEMENT


@pytest.fixture(scope="module")
def right_report(videos, obama_refs) -> EvidenceReport:
    return verify_recording(str(videos["obama_right"]), obama_refs, STATEMENT, CHALLENGE)


def test_the_subject_reading_the_statement_and_challenge_is_verified(right_report):
    r = right_report
    assert r.decision == VERIFIED, r.as_dict()
    assert r.reasons == []
    assert all(c["passed"] is True for c in r.checks.values())
    assert r.checks["face_match"]["score"] < 0.5
    assert r.checks["lip_sync"]["score"] > 0.3


def test_the_report_is_json_ready_and_carries_a_fingerprint_and_timings(right_report):
    d = right_report.as_dict()
    again = json.loads(json.dumps(d))
    assert again["decision"] == VERIFIED
    assert set(again["checks"]) >= {"face_match", "face_presence", "mouth_motion", "lip_sync", "statement_spoken"}
    assert again["fingerprint"]["audio_bits"] and len(again["fingerprint"]["face_embedding"]) == 128
    assert again["timings"]["total"] > 0


def test_a_wrong_challenge_phrase_is_rejected(videos, obama_refs):
    r = verify_recording(str(videos["obama_wrong_challenge"]), obama_refs, STATEMENT, CHALLENGE)
    assert r.decision == REJECTED
    assert r.reasons == ["challenge_not_spoken"]
    assert r.checks["statement_spoken"]["passed"] is True


@pytest.fixture(scope="module")
def still_report(videos, obama_refs) -> EvidenceReport:
    return verify_recording(str(videos["obama_still"]), obama_refs, STATEMENT, CHALLENGE)


def test_a_still_photo_with_speech_audio_fails_liveness(still_report):
    r = still_report
    assert r.decision == REJECTED
    assert "liveness_failed" in r.reasons
    assert r.checks["mouth_motion"]["passed"] is False
    # The face itself is the subject's: only liveness gives the still away.
    assert r.checks["face_match"]["passed"] is True


def test_a_different_persons_face_is_rejected_as_face_mismatch(videos, obama_refs):
    r = verify_recording(str(videos["biden_right"]), obama_refs, STATEMENT, CHALLENGE)
    assert r.decision == REJECTED
    assert "face_mismatch" in r.reasons
    assert r.checks["face_match"]["score"] > 0.6


def test_the_same_recording_submitted_twice_is_caught_as_a_replay(videos, obama_refs, right_report):
    r = verify_recording(
        str(videos["obama_right"]), obama_refs, STATEMENT, CHALLENGE, earlier_fingerprints=[right_report.fingerprint]
    )
    assert r.decision == REJECTED
    assert r.reasons == ["replay"]
    assert r.checks["replay"]["audio_similarity"] > 0.95


def test_earlier_audio_re_encoded_under_another_video_is_caught_as_a_replay(right_report, still_report):
    from moderation.verification import replay_scores

    # Both recordings carry the same speech, each encoded to AAC separately (engine and PyAV muxers).
    audio_sim, _ = replay_scores(right_report.fingerprint, [still_report.fingerprint])
    assert audio_sim > 0.85


def test_earlier_evidence_of_other_speech_is_not_a_replay(right_report):
    from moderation.verification import replay_scores

    other = make_fingerprint(decode_audio(str(ENGINE / "harvard_16k.wav")), [0.1, 0.2] * 40, None)
    audio_sim, motion_sim = replay_scores(right_report.fingerprint, [other])
    assert audio_sim < 0.7 and motion_sim < 0.9


def test_a_doubtful_score_sends_the_recording_to_review(videos, obama_refs):
    # A stricter face bound puts the measured distance between pass and fail: doubtful, not wrong.
    th = Thresholds(face_pass=0.3, face_fail=0.6)
    r = verify_recording(str(videos["obama_right"]), obama_refs, STATEMENT, CHALLENGE, thresholds=th)
    assert r.decision == NEEDS_REVIEW
    assert r.checks["face_match"]["passed"] is None and r.reasons == ["face_borderline"], "review always says why"


def test_the_generated_media_hook_can_reject(videos, obama_refs):
    seen = []

    def says_generated(path: str) -> bool:
        seen.append(path)
        return True

    r = verify_recording(
        str(videos["obama_right"]), obama_refs, STATEMENT, CHALLENGE, generated_media_check=says_generated
    )
    assert seen == [str(videos["obama_right"])]
    assert r.decision == REJECTED and r.reasons == ["generated_media"]


def test_too_long_and_undecodable_recordings_are_rejected_with_codes(videos, obama_refs, tmp_path):
    r = verify_recording(
        str(videos["obama_right"]), obama_refs, STATEMENT, CHALLENGE, thresholds=Thresholds(max_duration_s=3)
    )
    assert r.decision == REJECTED and r.reasons == ["recording_too_long"]

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    r = verify_recording(str(junk), obama_refs, STATEMENT, CHALLENGE)
    assert r.decision == REJECTED and r.reasons == ["recording_invalid"]


def test_a_moving_face_dubbed_with_other_speech_fails_lip_sync(videos, obama_refs, tmp_path):
    from .conftest import redub

    dubbed = redub(videos["obama_right"], ENGINE / "harvard_16k.wav", tmp_path / "dubbed.mp4")
    r = verify_recording(str(dubbed), obama_refs, STATEMENT, CHALLENGE)
    assert r.decision == REJECTED
    assert r.checks["mouth_motion"]["passed"] is True
    assert r.checks["lip_sync"]["passed"] is False and "liveness_failed" in r.reasons
    assert {"statement_not_spoken", "challenge_not_spoken"} <= set(r.reasons)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command to write a rotation tag")
def test_a_sideways_phone_video_with_a_rotation_tag_is_analysed_upright(videos, obama_refs, tmp_path):
    import av

    from .conftest import write_video

    # Stored sideways (turned a quarter counter-clockwise) with a tag telling players to turn it back.
    with av.open(str(videos["obama_right"])) as c:
        frames = [np.ascontiguousarray(np.rot90(f.to_ndarray(format="rgb24"))) for f in c.decode(video=0)]
    sideways = write_video(frames, decode_audio(str(videos["obama_right"])), tmp_path / "sideways.mp4")
    tagged = tmp_path / "tagged.mp4"
    tag = ["-c", "copy", "-metadata:s:v:0", "rotate=90"]
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(sideways), *tag, str(tagged)], check=True)
    r = verify_recording(str(tagged), obama_refs, STATEMENT, CHALLENGE)
    assert r.checks["face_presence"]["score"] > 0.9
    assert r.decision == VERIFIED, r.reasons


def test_a_replay_lookup_is_given_the_new_fingerprint_and_what_it_returns_is_compared(videos, obama_refs, right_report):
    asked = []

    def lookup(fingerprint: dict) -> list[dict]:
        asked.append(fingerprint)
        return [right_report.fingerprint]

    r = verify_recording(str(videos["obama_right"]), obama_refs, STATEMENT, CHALLENGE, replay_lookup=lookup)
    assert asked and asked[0]["audio_contour"] == right_report.fingerprint["audio_contour"]
    assert r.reasons == ["replay"] and r.checks["replay"]["compared"] == 1


def test_a_generated_media_reading_keeps_its_score_and_threshold(videos, obama_refs):
    def reading(path: str) -> dict:
        return {"generated": True, "score": 23.4, "threshold": 10.0, "watermark_id": "0badc0de"}

    r = verify_recording(str(videos["obama_right"]), obama_refs, STATEMENT, CHALLENGE, generated_media_check=reading)
    check = r.checks["generated_media"]
    assert r.decision == REJECTED and r.reasons == ["generated_media"]
    assert (check["score"], check["threshold"], check["reading"]) == (23.4, 10.0, {"watermark_id": "0badc0de"})
