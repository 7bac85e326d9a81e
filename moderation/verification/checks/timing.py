"""(7) Spoken in time (live captures): the statement with its fresh words was said after it was shown, in time."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..media import SAMPLE_RATE
from ..report import Thresholds, check_result
from ..speech import check_spoken


def window_audio(audio: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """The audio between two media times (clipped to the recording)."""
    return audio[max(0, int(start_s * SAMPLE_RATE)) : max(0, int(end_s * SAMPLE_RATE))]


def spoken_in_time(
    window: tuple[float, float], in_window: dict[str, dict[str, Any]], audio: np.ndarray, statement: str,
    challenge: str, th: Thresholds,
) -> dict[str, Any]:  # fmt: skip
    """(7) The spoken-text checks, run on the statement's window only, passed; else where the words were said.

    ``in_window`` holds the statement and challenge checks of the window's audio. When they did not pass, the whole
    recording is searched once more, so the report tells words said before they were shown (a recording made
    beforehand) from words not said at all.
    """
    start, end = window
    # Aligned in full inside the window means said after it was shown and before its deadline; how well each word
    # was said is the spoken checks' own verdict.
    passed = in_window["statement_spoken"].get("alignment") == "full"
    times = [[w, round(a + start, 2), round(b + start, 2)] for w, a, b in in_window["statement_spoken"].get(
        "word_times") or []]  # fmt: skip
    detail: dict[str, Any] = {"window_s": [round(start, 2), round(end, 2)], "word_times": times}
    if passed:
        return check_result(None, th.prompt_grace_s, True, **detail)
    anywhere = check_spoken(audio, statement, challenge)
    detail["anywhere"] = {"statement": anywhere.statement_aligned, "challenge": anywhere.challenge_aligned,
                          "word_times": anywhere.detail.get("word_times")}  # fmt: skip
    said = anywhere.detail.get("word_times") or []
    detail["said_before_shown"] = bool(said) and said[0][1] < start
    return check_result(None, th.prompt_grace_s, False, **detail)
