"""(5) Generated media: the service's own provenance reading of the file (watermark, manifest)."""

from __future__ import annotations

from typing import Any

from ..report import check_result


def generated(reading: bool | dict[str, Any] | None) -> dict[str, Any]:
    """(5) Generated media, as the service's provenance check read it (the reading is kept for reviewers)."""
    detail = dict(reading) if isinstance(reading, dict) else {}
    generated = detail.pop("generated", None) if isinstance(reading, dict) else reading
    score, threshold = detail.pop("score", None), detail.pop("threshold", None)
    return check_result(score, threshold, None if generated is None else not generated, reading=detail or None)
