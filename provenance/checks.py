"""Is this file generated media? Used by consent verification: our own output must never pass as a recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provenance import detection


def generated_media_reading(path: str | Path) -> dict[str, Any]:
    """What the provenance checks found, for consent verification's report (reviewers only).

    ``generated`` is True when the file carries Talkgate's watermark (the service's outputs and everything the
    engine makes elsewhere) or a C2PA manifest declaring AI-generated content; ``score`` and ``threshold`` are
    the watermark detector's.
    """
    report = detection.inspect_file(Path(path), want_watermark=True)
    mark = report.watermark or {}
    manifest_ai = bool(report.manifest.present and report.manifest.ai_generated)
    generated: bool | None = manifest_ai or bool(mark.get("detected"))
    if not generated and mark.get("status") == "inconclusive":
        generated = None  # the search ran out of time: a reviewer looks (generated_media_unknown)
    return {
        "generated": generated,
        "score": mark.get("score"),
        "threshold": mark.get("threshold"),
        "watermark_detected": bool(mark.get("detected")),
        "watermark_id": mark.get("watermark_id"),
        "watermark_confidence": mark.get("confidence"),
        "frames_checked": mark.get("frames_checked"),
        "watermark_status": mark.get("status"),
        "manifest_present": bool(report.manifest.present),
        "manifest_ai_generated": manifest_ai,
    }
