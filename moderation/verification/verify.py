"""Verifying a consent recording: decode, run the five checks (``checks/``), and decide from their results."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .analysis import analyse_faces
from .checks import face_match, generated, liveness, movement, replay, spoken, stream, timing
from .faces import FaceModel, get_face_model
from .fingerprint import make_fingerprint
from .media import MediaError, decode_recording, measure_duration
from .report import NEEDS_REVIEW, REJECTED, VERIFIED, EvidenceReport, Thresholds

GeneratedMediaCheck = Callable[[str], "bool | dict[str, Any] | None"]
ReplayLookup = Callable[[dict[str, Any]], list[dict[str, Any]]]

# Borderline (passed is None) checks and the review reason each gives: a reviewer always learns why.
BORDERLINE_REASONS = {
    "face_match": "face_borderline",
    "face_presence": "presence_borderline",
    "lip_sync": "lip_sync_borderline",
    "statement_spoken": "statement_borderline",
    "challenge_spoken": "challenge_borderline",
    "replay": "replay_borderline",
    "generated_media": "generated_media_unknown",
    "stream_timing": "stream_timing_unknown",
    "movement": "movement_borderline",
}


def _reasons(checks: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Rejection reasons (failed checks) and review reasons (borderline checks), in a stable order."""
    failed = {name for name, c in checks.items() if c["passed"] is False}
    rejections: list[str] = []
    if "face_match" in failed:
        rejections.append(checks["face_match"].get("reason") or "face_mismatch")
    if "face_presence" in failed and "no_face" not in rejections:
        rejections.append("no_face")
    if failed & {"face_presence", "lip_sync"}:  # a mouth that does not move fails lip sync too
        rejections.append("liveness_failed")
    for name, code in (("statement_spoken", "statement_not_spoken"), ("challenge_spoken", "challenge_not_spoken"),
                       ("replay", "replay"), ("generated_media", "generated_media"),
                       ("stream_timing", "stream_not_live"), ("spoken_in_time", "timing_failed"),
                       ("movement", "movement_failed")):  # fmt: skip
        if name in failed:
            rejections.append(code)
    review = [code for name, code in BORDERLINE_REASONS.items() if name in checks and checks[name]["passed"] is None]
    return rejections, review


def verify_recording(
    video_path: str,
    references: list[np.ndarray],
    statement: str,
    challenge: str,
    earlier_fingerprints: list[dict[str, Any]] | None = None,
    thresholds: Thresholds | None = None,
    generated_media_check: GeneratedMediaCheck | None = None,
    face_model: FaceModel | None = None,
    replay_lookup: ReplayLookup | None = None,
    capture: dict[str, Any] | None = None,
) -> EvidenceReport:
    """Verify a consent recording against the subject's reference embeddings and the issued texts.

    ``replay_lookup`` receives the new recording's fingerprint and returns the earlier fingerprints worth
    comparing (an index lookup); ``earlier_fingerprints`` are compared as well. ``capture`` (live captures only):
    the chunks (``offset``, ``received_s``) and prompts (``kind``, ``revealed_s``, ``deadline_s``) on the server's
    clock; then the statement is checked in its window only, and the stream's pace and the movements are checked.
    """
    th = thresholds or Thresholds()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    try:
        duration = measure_duration(video_path, th.max_duration_s)
        if duration > th.max_duration_s:
            return EvidenceReport(REJECTED, ["recording_too_long"], detail={"duration_s": round(duration, 2)})
        rec = decode_recording(video_path, fps=th.analysis_fps, max_seconds=th.max_duration_s)
    except MediaError as exc:
        return EvidenceReport(REJECTED, ["recording_invalid"], detail={"error": str(exc)})
    if rec.duration_s > th.max_duration_s:
        return EvidenceReport(REJECTED, ["recording_too_long"], detail={"duration_s": round(rec.duration_s, 2)})
    timings["decode"] = time.perf_counter() - t0

    # The provenance check reads the file on its own; it runs beside the face and speech analysis (its FFTs
    # release the GIL), which roughly halves a verification on two cores.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="generated-media") as pool:
        pending = pool.submit(_timed, generated_media_check, video_path) if generated_media_check else None

        model = face_model or get_face_model()
        t = time.perf_counter()
        fa = analyse_faces(model, rec.frames)
        timings["faces"] = time.perf_counter() - t

        t = time.perf_counter()
        checks: dict[str, dict[str, Any]] = {"face_match": face_match.face_match(model, fa, references, th)}
        checks.update(liveness.liveness(fa, rec, th))
        timings["face_match_liveness"] = time.perf_counter() - t

        t = time.perf_counter()
        windows: list[dict[str, Any]] = []
        if capture is None:
            checks.update(spoken.spoken(rec.audio, statement, challenge, th))
        else:
            checks["stream_timing"], start = stream.stream_timing(video_path, capture["chunks"], th)
            if start is None:  # no byte positions: the first chunk holds about a second
                start = float(capture["chunks"][0]["received_s"]) - 1.0
            windows = [{"kind": p["kind"], "start_s": round(float(p["revealed_s"]) - start, 3),
                        "end_s": round(float(p["deadline_s"]) - start + th.prompt_grace_s, 3)}
                       for p in capture["prompts"]]  # fmt: skip
            said = next(w for w in windows if w["kind"] == "statement")
            window = (said["start_s"], said["end_s"])
            in_window = spoken.spoken(timing.window_audio(rec.audio, *window), statement, challenge, th)
            checks.update(in_window)
            checks["spoken_in_time"] = timing.spoken_in_time(window, in_window, rec.audio, statement, challenge, th)
            checks["movement"] = movement.movement(windows, fa, rec.times, rec.frames, model, references, th)
        timings["speech"] = time.perf_counter() - t

        t = time.perf_counter()
        mouth_series = [float(v) if not np.isnan(v) else 0.0 for v in fa["mouth"]]
        mean_emb = np.mean(fa["embeddings"], axis=0) if fa["embeddings"] else None
        fingerprint = make_fingerprint(rec.audio, mouth_series, mean_emb)
        earlier = list(earlier_fingerprints or [])
        if replay_lookup is not None:
            earlier += replay_lookup(fingerprint)
        checks["replay"] = replay.replay(fingerprint, earlier, th)
        timings["replay"] = time.perf_counter() - t

        if pending is not None:
            reading, timings["generated_media"] = pending.result()
            checks["generated_media"] = generated.generated(reading)

    timings["total"] = time.perf_counter() - t0
    rejections, review = _reasons(checks)
    if rejections:
        decision, reasons = REJECTED, rejections
    elif review:
        decision, reasons = NEEDS_REVIEW, review
    else:
        decision, reasons = VERIFIED, []
    detail: dict[str, Any] = {"duration_s": round(rec.duration_s, 2), "frames_analysed": len(rec.frames)}
    if capture is not None:
        # The reviewers' timeline: each prompt's window in media time and the head's pose through the recording.
        detail.update(windows=windows, pose_trace=movement.pose_trace(fa, rec.times))
    return EvidenceReport(decision, reasons, checks, fingerprint, {k: round(v, 3) for k, v in timings.items()}, detail)


def _timed(check: GeneratedMediaCheck, path: str) -> tuple[bool | dict[str, Any] | None, float]:
    t = time.perf_counter()
    return check(path), time.perf_counter() - t
