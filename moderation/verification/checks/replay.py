"""(4) Replay: audio or face motion (nearly) identical to earlier evidence."""

from __future__ import annotations

from typing import Any

from ..fingerprint import replay_scores
from ..report import Thresholds, band, check_result


def replay(fingerprint: dict[str, Any], earlier: list[dict[str, Any]], th: Thresholds) -> dict[str, Any]:
    """(4) Audio or face motion (nearly) identical to earlier evidence."""
    audio_sim, motion_sim = replay_scores(fingerprint, earlier)
    a_ok = band(audio_sim, th.replay_audio_pass, th.replay_audio_fail, higher_is_better=False)
    mo_ok = band(motion_sim, th.replay_motion_pass, th.replay_motion_fail, higher_is_better=False)
    r_ok: bool | None = False if False in (a_ok, mo_ok) else (None if None in (a_ok, mo_ok) else True)
    return check_result(
        max(audio_sim, motion_sim),
        {"audio_fail": th.replay_audio_fail, "motion_fail": th.replay_motion_fail},
        r_ok,
        audio_similarity=round(audio_sim, 4),
        motion_similarity=round(motion_sim, 4),
        compared=len(earlier),
    )
