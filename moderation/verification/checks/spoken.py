"""(3) Spoken text: the statement and the fresh challenge words were said."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..report import Thresholds, band, check_result
from ..speech import check_spoken


def spoken(audio: np.ndarray, statement: str, challenge: str, th: Thresholds) -> dict[str, dict[str, Any]]:
    """(3) The statement and the challenge were spoken."""
    spoken = check_spoken(audio, statement, challenge)
    st_ok = band(spoken.statement_score, th.statement_pass, th.statement_fail) if spoken.statement_aligned else False
    ch_ok = band(spoken.challenge_score, th.challenge_pass, th.challenge_fail) if spoken.challenge_aligned else False
    if spoken.detail.get("unknown_words"):
        st_ok = ch_ok = None
    detail = dict(spoken.detail)
    word_scores = detail.pop("challenge_word_scores", None)
    return {
        "statement_spoken": check_result(spoken.statement_score, {"pass": th.statement_pass, "fail": th.statement_fail},
                                   st_ok, **detail),
        "challenge_spoken": check_result(spoken.challenge_score, {"pass": th.challenge_pass, "fail": th.challenge_fail},
                                   ch_ok, word_scores=word_scores),
    }  # fmt: skip
