"""Inspect a suspect file: what kind of media it is, its C2PA manifest, and Talkgate's watermark."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from PIL import Image, UnidentifiedImageError

from provenance import credentials, signing

logger = logging.getLogger(__name__)

# Containers c2pa-python reads manifests from; WebM/Matroska carry none, so only the watermark speaks there.
C2PA_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "jpeg": "image/jpeg", "png": "image/png",
             "webp": "image/webp"}  # fmt: skip
VIDEO_KINDS = {"mp4", "mov", "webm", "mkv"}
IMAGE_KINDS = {"jpeg", "png", "webp"}


class UnsupportedMedia(Exception):
    """The file is neither a video nor an image we can read."""


def sniff(path: Path) -> str:
    """mp4 | mov | webm | mkv | jpeg | png | webp, from the bytes (never from the name)."""
    head = path.open("rb").read(64)
    if head[4:8] == b"ftyp":
        return "mov" if head[8:10] == b"qt" else "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in path.open("rb").read(4096) else "mkv"
    try:
        with Image.open(path) as image:
            fmt = (image.format or "").lower()
    except (UnidentifiedImageError, OSError) as exc:
        raise UnsupportedMedia("not a video or image Talkgate can read") from exc
    if fmt in IMAGE_KINDS:
        return fmt
    raise UnsupportedMedia(f"{fmt or 'unknown'} images are not supported")


@dataclass
class Inspection:
    """Everything found in one file."""

    kind: str
    manifest: signing.ManifestReport
    watermark: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _watermark(path: Path, kind: str) -> dict[str, Any] | None:
    try:
        from provenance import watermark
    except ImportError:  # the watermark library lands with the provenance issue
        return None
    if kind in VIDEO_KINDS:
        result = watermark.detect_video(str(path))
    else:
        result = watermark.detect_image(str(path))
    return {
        "detected": bool(result.detected),
        "watermark_id": result.watermark_id if result.detected else None,
        "confidence": round(float(result.confidence), 4),
        "frames_checked": int(result.frames_checked),
        "score": round(float(result.score), 3),
        "threshold": watermark.api.Z_THRESHOLD,
    }


def inspect_file(path: Path, *, want_watermark: bool = True) -> Inspection:
    """Sniff, read the manifest (where the container can hold one) and look for the watermark."""
    kind = sniff(path)
    if kind in VIDEO_KINDS:
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise UnsupportedMedia("the file has no video stream")
        except av.FFmpegError as exc:
            raise UnsupportedMedia("the video cannot be decoded") from exc
    notes: list[str] = []
    if kind in C2PA_MIME:
        with path.open("rb") as handle:
            manifest = signing.read_manifest(
                handle, mime=C2PA_MIME[kind], trust_anchors_pem=credentials.trust_anchors_pem()
            )
    else:
        manifest = signing.ManifestReport(present=False)
        notes.append(f"{kind} files cannot carry a C2PA manifest; only the watermark can be checked")
    mark = _watermark(path, kind) if want_watermark else None
    if mark is None and want_watermark:
        notes.append("watermark detection is not available in this build")
    return Inspection(kind=kind, manifest=manifest, watermark=mark, notes=notes)
