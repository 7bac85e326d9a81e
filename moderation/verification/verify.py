"""Automatic verification of a consent recording: face match, liveness, spoken text, replay, provenance hook."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .faces import FaceModel, get_face_model
from .fingerprint import make_fingerprint, replay_scores
from .media import MediaError, decode_recording, measure_duration, speech_envelope
from .speech import check_spoken

VERIFIED, REJECTED, NEEDS_REVIEW = "verified", "rejected", "needs_review"


@dataclass(frozen=True)
class Thresholds:
    """Pass/fail bands for each check; a score between the two bounds of a band goes to review."""

    # Face distance (lower is better): pass at or below, fail above. dlib's own figure is 0.6.
    face_pass: float = 0.5
    face_fail: float = 0.6
    # Fraction of sampled frames with a detected face.
    presence_pass: float = 0.9
    presence_fail: float = 0.6
    # Mouth-opening std (relative to the eye distance): below this the mouth does not move at all.
    mouth_motion_min: float = 0.01
    # Peak correlation of mouth opening with the speech envelope (lag up to +-0.3 s).
    sync_pass: float = 0.3
    sync_fail: float = 0.15
    # Acoustic score per frame (pocketsphinx log units; higher is better): the statement's mean over its
    # words, the challenge's worst word.
    statement_pass: float = -50.0
    statement_fail: float = -60.0
    challenge_pass: float = -45.0
    challenge_fail: float = -60.0
    # Similarity to earlier evidence (higher means more alike): fail at or above, review above pass.
    replay_audio_fail: float = 0.85
    replay_audio_pass: float = 0.7
    replay_motion_fail: float = 0.98
    replay_motion_pass: float = 0.9
    max_duration_s: float = 60.0
    analysis_fps: float = 10.0


@dataclass
class EvidenceReport:
    """The outcome of verifying one consent recording."""

    decision: str
    # Rejected: what failed. Needs review: what was borderline (never empty). Verified: empty.
    reasons: list[str] = field(default_factory=list)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def band(score: float | None, pass_at: float, fail_at: float, higher_is_better: bool = True) -> bool | None:
    """True / False / None (review) for a score against a pass bound and a fail bound."""
    if score is None or not np.isfinite(score):
        return None if score is None else (score > 0) == higher_is_better
    if higher_is_better:
        return True if score >= pass_at else (False if score < fail_at else None)
    return True if score <= pass_at else (False if score > fail_at else None)


def _check(score: float | None, threshold: Any, passed: bool | None, **extra: Any) -> dict[str, Any]:
    rounded = None if score is None else round(float(score), 4)
    return {"score": rounded, "threshold": threshold, "passed": passed, **extra}


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-lip gap divided by the eye-corner distance (scale-free mouth opening)."""
    gap = np.mean([np.linalg.norm(landmarks[a] - landmarks[b]) for a, b in ((61, 67), (62, 66), (63, 65))])
    eyes = float(np.linalg.norm(landmarks[36] - landmarks[45]))
    return float(gap / eyes) if eyes > 1 else 0.0


def _peak_correlation(x: np.ndarray, y: np.ndarray, max_lag: int) -> float:
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        a = x[max(0, lag) : len(x) + min(0, lag)]
        b = y[max(0, -lag) : len(y) + min(0, -lag)]
        if len(a) < 10 or a.std() < 1e-9 or b.std() < 1e-9:
            continue
        best = max(best, float(np.corrcoef(a, b)[0, 1]))
    return best


def _analyse_faces(model: FaceModel, frames: list[np.ndarray], detect_every: int = 2, max_embeddings: int = 12) -> dict:
    """Per-frame face boxes (detected every few frames, reused between), mouth openings and embeddings."""
    boxes: list[tuple[int, int, int, int] | None] = []
    detected = 0
    tried = 0
    box: tuple[int, int, int, int] | None = None
    for i, frame in enumerate(frames):
        if i % detect_every == 0:
            tried += 1
            # Faces in a selfie recording are large: the plain scale finds them at a third of the
            # cost; upsampling is the fallback for small or distant faces.
            found = model.detect(frame, upsample=0) or model.detect(frame, upsample=1)
            # The largest face is the subject; a second small one is usually background.
            box = found[0][0] if found else None
            detected += bool(found)
        boxes.append(box)
    mouth = np.full(len(frames), np.nan)
    for i, (frame, b) in enumerate(zip(frames, boxes, strict=True)):
        if b is not None:
            mouth[i] = mouth_opening(model.landmarks(frame, b))
    with_face = [i for i, b in enumerate(boxes) if b is not None]
    picks = [with_face[round(k)] for k in np.linspace(0, len(with_face) - 1, min(max_embeddings, len(with_face)))]
    embeddings = [model.embed(frames[i], boxes[i]) for i in sorted(set(picks))]  # type: ignore[arg-type]
    return {"presence": detected / max(tried, 1), "mouth": mouth, "embeddings": embeddings}


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
}


def _face_match(model: FaceModel, fa: dict, references: list[np.ndarray], th: Thresholds) -> dict[str, Any]:
    """(1) The median distance of the sampled faces to the nearest reference."""
    if not fa["embeddings"]:
        return _check(None, {"pass": th.face_pass, "fail": th.face_fail}, False, reason="no_face")
    dists = [model.best_distance(e, references) for e in fa["embeddings"]]
    d = float(np.median(dists))
    ok = band(d, th.face_pass, th.face_fail, higher_is_better=False)
    return _check(d, {"pass": th.face_pass, "fail": th.face_fail}, ok, samples=len(dists))


def _liveness(fa: dict, rec: Any, th: Thresholds) -> dict[str, dict[str, Any]]:
    """(2) The face is present in most frames, the mouth moves, and it moves with the speech."""
    presence = float(fa["presence"])
    mouth = fa["mouth"]
    valid = ~np.isnan(mouth)
    motion = float(np.nanstd(mouth)) if valid.sum() >= 2 else 0.0
    env = speech_envelope(rec.audio, rec.times, window_s=2.0 / th.analysis_fps)
    sync = _peak_correlation(mouth[valid], env[valid], max_lag=round(0.3 * th.analysis_fps)) if valid.sum() else -1.0
    m_ok = motion >= th.mouth_motion_min
    return {
        "face_presence": _check(presence, {"pass": th.presence_pass, "fail": th.presence_fail},
                                band(presence, th.presence_pass, th.presence_fail)),
        "mouth_motion": _check(motion, th.mouth_motion_min, m_ok),
        "lip_sync": _check(sync, {"pass": th.sync_pass, "fail": th.sync_fail},
                           band(sync, th.sync_pass, th.sync_fail) if m_ok else False),
    }  # fmt: skip


def _spoken(audio: np.ndarray, statement: str, challenge: str, th: Thresholds) -> dict[str, dict[str, Any]]:
    """(3) The statement and the challenge were spoken."""
    spoken = check_spoken(audio, statement, challenge)
    st_ok = band(spoken.statement_score, th.statement_pass, th.statement_fail) if spoken.statement_aligned else False
    ch_ok = band(spoken.challenge_score, th.challenge_pass, th.challenge_fail) if spoken.challenge_aligned else False
    if spoken.detail.get("unknown_words"):
        st_ok = ch_ok = None
    detail = dict(spoken.detail)
    word_scores = detail.pop("challenge_word_scores", None)
    return {
        "statement_spoken": _check(spoken.statement_score, {"pass": th.statement_pass, "fail": th.statement_fail},
                                   st_ok, **detail),
        "challenge_spoken": _check(spoken.challenge_score, {"pass": th.challenge_pass, "fail": th.challenge_fail},
                                   ch_ok, word_scores=word_scores),
    }  # fmt: skip


def _replay(fingerprint: dict[str, Any], earlier: list[dict[str, Any]], th: Thresholds) -> dict[str, Any]:
    """(4) Audio or face motion (nearly) identical to earlier evidence."""
    audio_sim, motion_sim = replay_scores(fingerprint, earlier)
    a_ok = band(audio_sim, th.replay_audio_pass, th.replay_audio_fail, higher_is_better=False)
    mo_ok = band(motion_sim, th.replay_motion_pass, th.replay_motion_fail, higher_is_better=False)
    r_ok: bool | None = False if False in (a_ok, mo_ok) else (None if None in (a_ok, mo_ok) else True)
    return _check(
        max(audio_sim, motion_sim),
        {"audio_fail": th.replay_audio_fail, "motion_fail": th.replay_motion_fail},
        r_ok,
        audio_similarity=round(audio_sim, 4),
        motion_similarity=round(motion_sim, 4),
        compared=len(earlier),
    )


def _generated(reading: bool | dict[str, Any] | None) -> dict[str, Any]:
    """(5) Generated media, as the service's provenance check read it (the reading is kept for reviewers)."""
    detail = dict(reading) if isinstance(reading, dict) else {}
    generated = detail.pop("generated", None) if isinstance(reading, dict) else reading
    score, threshold = detail.pop("score", None), detail.pop("threshold", None)
    return _check(score, threshold, None if generated is None else not generated, reading=detail or None)


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
                       ("replay", "replay"), ("generated_media", "generated_media")):  # fmt: skip
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
) -> EvidenceReport:
    """Verify a consent recording against the subject's reference embeddings and the issued texts.

    ``replay_lookup`` receives the new recording's fingerprint and returns the earlier fingerprints worth
    comparing (an index lookup); ``earlier_fingerprints`` are compared as well.
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
        fa = _analyse_faces(model, rec.frames)
        timings["faces"] = time.perf_counter() - t

        t = time.perf_counter()
        checks: dict[str, dict[str, Any]] = {"face_match": _face_match(model, fa, references, th)}
        checks.update(_liveness(fa, rec, th))
        timings["face_match_liveness"] = time.perf_counter() - t

        t = time.perf_counter()
        checks.update(_spoken(rec.audio, statement, challenge, th))
        timings["speech"] = time.perf_counter() - t

        t = time.perf_counter()
        mouth_series = [float(v) if not np.isnan(v) else 0.0 for v in fa["mouth"]]
        mean_emb = np.mean(fa["embeddings"], axis=0) if fa["embeddings"] else None
        fingerprint = make_fingerprint(rec.audio, mouth_series, mean_emb)
        earlier = list(earlier_fingerprints or [])
        if replay_lookup is not None:
            earlier += replay_lookup(fingerprint)
        checks["replay"] = _replay(fingerprint, earlier, th)
        timings["replay"] = time.perf_counter() - t

        if pending is not None:
            reading, timings["generated_media"] = pending.result()
            checks["generated_media"] = _generated(reading)

    timings["total"] = time.perf_counter() - t0
    rejections, review = _reasons(checks)
    if rejections:
        decision, reasons = REJECTED, rejections
    elif review:
        decision, reasons = NEEDS_REVIEW, review
    else:
        decision, reasons = VERIFIED, []
    return EvidenceReport(
        decision,
        reasons,
        checks,
        fingerprint,
        {k: round(v, 3) for k, v in timings.items()},
        {"duration_s": round(rec.duration_s, 2), "frames_analysed": len(rec.frames)},
    )


def _timed(check: GeneratedMediaCheck, path: str) -> tuple[bool | dict[str, Any] | None, float]:
    t = time.perf_counter()
    return check(path), time.perf_counter() - t
