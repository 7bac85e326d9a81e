"""What a verification produces: the decision, the pass/fail bands it was held to, and each check's entry."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

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
    # Live captures. A movement prompt is answered by a head rotation of at least this much (degrees) in its window
    # (plus the grace below); below half of it the prompt failed, between the two a reviewer looks.
    min_yaw_deg: float = 20.0
    min_pitch_deg: float = 10.0
    # Media time may trail the chunks' arrival by at most this much more than the best chunk did (seconds).
    max_stream_lag_s: float = 8.0
    # Seconds after a prompt's deadline still counted: the page shows time left rounded, and chunks take time.
    prompt_grace_s: float = 1.5


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


def check_result(score: float | None, threshold: Any, passed: bool | None, **extra: Any) -> dict[str, Any]:
    """One check's entry in the report: its score, the bounds it was held to, and passed (None: review)."""
    rounded = None if score is None else round(float(score), 4)
    return {"score": rounded, "threshold": threshold, "passed": passed, **extra}
