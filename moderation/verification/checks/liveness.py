"""(2) Liveness: a face present in most frames whose mouth moves, and moves with the speech."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..media import speech_envelope
from ..report import Thresholds, band, check_result


def _peak_correlation(x: np.ndarray, y: np.ndarray, max_lag: int) -> float:
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        a = x[max(0, lag) : len(x) + min(0, lag)]
        b = y[max(0, -lag) : len(y) + min(0, -lag)]
        if len(a) < 10 or a.std() < 1e-9 or b.std() < 1e-9:
            continue
        best = max(best, float(np.corrcoef(a, b)[0, 1]))
    return best


def liveness(fa: dict, rec: Any, th: Thresholds) -> dict[str, dict[str, Any]]:
    """(2) The face is present in most frames, the mouth moves, and it moves with the speech."""
    presence = float(fa["presence"])
    mouth = fa["mouth"]
    valid = ~np.isnan(mouth)
    motion = float(np.nanstd(mouth)) if valid.sum() >= 2 else 0.0
    env = speech_envelope(rec.audio, rec.times, window_s=2.0 / th.analysis_fps)
    sync = _peak_correlation(mouth[valid], env[valid], max_lag=round(0.3 * th.analysis_fps)) if valid.sum() else -1.0
    m_ok = motion >= th.mouth_motion_min
    return {
        "face_presence": check_result(presence, {"pass": th.presence_pass, "fail": th.presence_fail},
                                band(presence, th.presence_pass, th.presence_fail)),
        "mouth_motion": check_result(motion, th.mouth_motion_min, m_ok),
        "lip_sync": check_result(sync, {"pass": th.sync_pass, "fail": th.sync_fail},
                           band(sync, th.sync_pass, th.sync_fail) if m_ok else False),
    }  # fmt: skip
