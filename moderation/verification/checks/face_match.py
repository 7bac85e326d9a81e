"""(1) Face match: the recording's face is the subject's."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..faces import FaceModel
from ..report import Thresholds, band, check_result


def face_match(model: FaceModel, fa: dict, references: list[np.ndarray], th: Thresholds) -> dict[str, Any]:
    """(1) The median distance of the sampled faces to the nearest reference."""
    if not fa["embeddings"]:
        return check_result(None, {"pass": th.face_pass, "fail": th.face_fail}, False, reason="no_face")
    dists = [model.best_distance(e, references) for e in fa["embeddings"]]
    d = float(np.median(dists))
    ok = band(d, th.face_pass, th.face_fail, higher_is_better=False)
    return check_result(d, {"pass": th.face_pass, "fail": th.face_fail}, ok, samples=len(dists))
