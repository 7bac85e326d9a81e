"""Is this file generated media? Used by consent verification: our own output must never pass as a recording."""

from __future__ import annotations

from pathlib import Path

from provenance import detection


def generated_media_reason(path: str | Path) -> str | None:
    """``generated_media`` when the file carries Talkgate's watermark or a C2PA manifest declaring AI content."""
    report = detection.inspect_file(Path(path), want_watermark=True)
    if report.manifest.present and report.manifest.ai_generated:
        return "generated_media"
    if report.watermark is not None and report.watermark.get("detected"):
        return "generated_media"
    return None


def is_generated_media(path: str) -> bool:
    """True when the recording is generated media (the verification library's hook: True, or False when clean)."""
    return generated_media_reason(path) is not None
