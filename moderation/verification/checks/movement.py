"""(8) Movement (live captures): each prompt answered by a real head rotation, in its window, by the same face."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..faces import FaceModel
from ..report import Thresholds, band, check_result

# Which pose angle each prompt moves, and its sign (yaw > 0: the subject's own left; pitch > 0: up).
PROMPT_AXES = {"turn_left": (0, 1.0), "turn_right": (0, -1.0), "look_up": (1, 1.0)}
# Seconds before a prompt's reveal whose median pose is the baseline the rotation is measured from.
_BASELINE_S = 1.5


def _prompt(
    kind: str, window: tuple[float, float], fa: dict, times: np.ndarray, frames: list[np.ndarray], model: FaceModel,
    references: list[np.ndarray], th: Thresholds,
) -> dict[str, Any]:  # fmt: skip
    axis, sign = PROMPT_AXES[kind]
    need = th.min_yaw_deg if axis == 0 else th.min_pitch_deg
    angle = fa["pose"][:, axis]
    start, end = window
    inside = (times >= start) & (times <= end)
    before = (times >= start - _BASELINE_S) & (times < start) & ~np.isnan(angle)
    valid = inside & ~np.isnan(angle)
    entry: dict[str, Any] = {"kind": kind, "window_s": [round(start, 2), round(end, 2)], "need_deg": need}
    if not valid.any():
        return {**entry, "passed": False, "reason": "no_face_in_window", "turn_deg": None}
    baseline = float(np.median(angle[before])) if before.any() else float(np.nanmedian(angle))
    turned = sign * (angle - baseline)
    turned[~valid] = -np.inf
    peak = int(np.argmax(turned))
    seen = float(valid.sum() / max(inside.sum(), 1))
    entry.update(turn_deg=round(float(turned[peak]), 1), baseline_deg=round(baseline, 1),
                 peak_s=round(float(times[peak]), 2), face_in_window=round(seen, 2))  # fmt: skip
    ok = band(float(turned[peak]), need, need / 2)
    # The face at the turn's peak must still be the subject's: a cut to someone else, or a mask, fails here.
    distance = model.best_distance(model.embed(frames[peak], fa["boxes"][peak]), references) if references else None
    entry["identity_distance"] = None if distance is None else round(distance, 3)
    if distance is not None and distance > th.face_fail:
        ok = False
        entry["reason"] = "identity_changed"
    return {**entry, "passed": ok}


def movement(
    prompts: list[dict[str, Any]], fa: dict, times: np.ndarray, frames: list[np.ndarray], model: FaceModel,
    references: list[np.ndarray], th: Thresholds,
) -> dict[str, Any]:  # fmt: skip
    """(8) Each movement prompt: the head turned at least the angle asked, the right way, by the subject's face.

    ``prompts`` hold each movement's kind and its window in media time. Head pose comes from the landmarks the face
    analysis found (a 3D fit of six of them); a photo shifted, scaled or rotated in the picture's plane does not turn.
    """
    results = [_prompt(p["kind"], (p["start_s"], p["end_s"]), fa, times, frames, model, references, th)
               for p in prompts if p["kind"] in PROMPT_AXES]  # fmt: skip
    verdicts = [r["passed"] for r in results]
    passed: bool | None = False if False in verdicts or not results else (None if None in verdicts else True)
    worst = min((r["turn_deg"] for r in results if r["turn_deg"] is not None), default=None)
    return check_result(worst, {"yaw_deg": th.min_yaw_deg, "pitch_deg": th.min_pitch_deg}, passed, prompts=results)


def pose_trace(fa: dict, times: np.ndarray) -> list[list[float | None]]:
    """[time, yaw, pitch] per analysed frame, for the reviewers' plot (None where no face was found)."""
    out = []
    for t, (yaw, pitch) in zip(times, fa["pose"], strict=True):
        out.append([round(float(t), 2), None if np.isnan(yaw) else round(float(yaw), 1),
                    None if np.isnan(pitch) else round(float(pitch), 1)])  # fmt: skip
    return out
