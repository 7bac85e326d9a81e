"""Inspect a suspect file: what kind of media it is, its C2PA manifest, and Talkgate's watermark.

Cost is bounded before anything is decoded: image headers go through the upload's bomb guard, a video's header
gives its frame size, and `Limits` caps the pixels per frame, the frames and seconds decoded, and the time spent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from django.conf import settings

from core import inputs
from core.errors import DomainError
from provenance import credentials, signing

logger = logging.getLogger(__name__)

# Containers c2pa-python reads manifests from; WebM/Matroska carry none, so only the watermark speaks there.
C2PA_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "jpeg": "image/jpeg", "png": "image/png",
             "webp": "image/webp"}  # fmt: skip
VIDEO_KINDS = {"mp4", "mov", "webm", "mkv"}
IMAGE_KINDS = {"jpeg", "png", "webp"}
# Below this many pixels on a side a frame holds less than half a watermark tile (128 px; 58 px at the smallest
# scale searched): nothing there can be read, so detection is not run (a marked 512 px frame shrunk to 128 px
# is already not detected).
MIN_WATERMARK_SIDE = 64


class UnsupportedMedia(Exception):
    """The file is neither a video nor an image we can read."""


@dataclass(frozen=True)
class Limits:
    """What inspecting one file may cost: pixels per frame, frames and seconds decoded, and a deadline."""

    max_pixels: int | None = None
    max_frames: int | None = None
    max_seconds: float | None = None
    deadline: float | None = None  # time.monotonic() past which decoding and the watermark search stop


@dataclass(frozen=True)
class MediaInfo:
    """What the header says: the kind of file and its frame size."""

    kind: str
    width: int
    height: int


def _image_pixel_cap(limits: Limits | None) -> int:
    # The uploads' bomb guard, and no more than verification decodes of a video frame.
    cap = settings.TALKGATE_MAX_PHOTO_PIXELS
    return min(cap, limits.max_pixels) if limits and limits.max_pixels else cap


def probe(path: Path, limits: Limits | None = None) -> MediaInfo:
    """Sniff the kind from the bytes (never the name) and check the frame size from the header only.

    Raises UnsupportedMedia, or a DomainError `image_too_large` / `video_too_large` for frames over the cap.
    """
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head[4:8] == b"ftyp" or head[:4] == b"\x1a\x45\xdf\xa3":
        if head[4:8] == b"ftyp":
            kind = "mov" if head[8:10] == b"qt" else "mp4"
        else:
            kind = "webm" if b"webm" in head else "mkv"
        return _probe_video(path, kind, limits)
    try:
        with path.open("rb") as handle:
            fmt, width, height = inputs.probe_image(handle, max_pixels=_image_pixel_cap(limits))
    except inputs.InputError as exc:
        if exc.code == "image_too_large":
            raise
        if exc.code == "image_unsupported":
            raise UnsupportedMedia(exc.message.rstrip(".")) from exc
        raise UnsupportedMedia("not a video or image Talkgate can read") from exc
    return MediaInfo(kind=fmt.lower(), width=width, height=height)


def _probe_video(path: Path, kind: str, limits: Limits | None) -> MediaInfo:
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise UnsupportedMedia("the file has no video stream")
            ctx = container.streams.video[0].codec_context
            width, height = int(ctx.width or 0), int(ctx.height or 0)
    except av.FFmpegError as exc:
        raise UnsupportedMedia("the video cannot be decoded") from exc
    if limits and limits.max_pixels and width * height > limits.max_pixels:
        raise _video_too_large(width, height, limits.max_pixels)
    return MediaInfo(kind=kind, width=width, height=height)


def _video_too_large(width: int, height: int, limit: int) -> DomainError:
    return DomainError(
        f"The video's frames are {width}x{height}; verification reads frames of at most {limit} pixels.",
        code="video_too_large",
    )


def sniff(path: Path) -> str:
    """mp4 | mov | webm | mkv | jpeg | png | webp, from the bytes (never from the name)."""
    return probe(path).kind


@dataclass
class Inspection:
    """Everything found in one file."""

    kind: str
    manifest: signing.ManifestReport
    watermark: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _watermark(path: Path, info: MediaInfo, limits: Limits, notes: list[str]) -> dict[str, Any] | None:
    try:
        from provenance import watermark
        from provenance.watermark import media
    except ImportError:  # the watermark library lands with the provenance issue
        return None
    if 0 < min(info.width, info.height) < MIN_WATERMARK_SIDE:
        notes.append(f"the frames are too small ({info.width}x{info.height}) to carry the watermark")
        return {"status": "not_checked", "detected": False, "watermark_id": None, "confidence": 0.0,
                "frames_checked": 0, "complete": True, "reason": "too_small"}  # fmt: skip
    try:
        if info.kind in VIDEO_KINDS:
            result = watermark.detect_video(
                str(path), limits.max_seconds, max_frames=limits.max_frames, max_pixels=limits.max_pixels,
                deadline=limits.deadline,
            )  # fmt: skip
        else:
            result = watermark.detect_image(str(path), deadline=limits.deadline)
    except media.FrameTooLarge as exc:  # a stream that grows past its header
        raise _video_too_large(exc.width, exc.height, exc.limit) from exc
    except (av.FFmpegError, StopIteration, ValueError, RuntimeError) as exc:
        # Bytes that pass the header check and then fail to decode; never an internal error.
        logger.info("watermark detection failed to decode: %r", exc)
        raise UnsupportedMedia(f"the {'video' if info.kind in VIDEO_KINDS else 'image'} cannot be decoded") from exc
    stopped = result.details.get("stopped")
    if stopped in ("max_seconds", "max_frames"):
        notes.append(f"only the first {result.details.get('frames_decoded')} frames were checked (verification limit)")
    if result.detected:
        status = "found"
    elif not result.complete:
        status = "inconclusive"
        notes.append("the watermark search ran out of its time budget: a mark may have been missed")
    else:
        status = "not_found"
    return {
        "status": status,
        "detected": bool(result.detected),
        "watermark_id": result.watermark_id if result.detected else None,
        "confidence": round(float(result.confidence), 4),
        "frames_checked": int(result.frames_checked),
        "score": round(float(result.score), 3),
        "threshold": watermark.api.Z_THRESHOLD,
        "complete": bool(result.complete),
        "reason": "time_budget" if status == "inconclusive" else None,
    }


def inspect_file(path: Path, *, want_watermark: bool = True, limits: Limits | None = None) -> Inspection:
    """Sniff, read the manifest (where the container can hold one) and look for the watermark, within limits."""
    limits = limits or Limits()
    info = probe(path, limits)
    notes: list[str] = []
    if info.kind in C2PA_MIME:
        with path.open("rb") as handle:
            manifest = signing.read_manifest(
                handle, mime=C2PA_MIME[info.kind], trust_anchors_pem=credentials.trust_anchors_pem()
            )
    else:
        manifest = signing.ManifestReport(present=False)
        notes.append(f"{info.kind} files cannot carry a C2PA manifest; only the watermark can be checked")
    mark = _watermark(path, info, limits, notes) if want_watermark else None
    if mark is None and want_watermark:
        notes.append("watermark detection is not available in this build")
    return Inspection(kind=info.kind, manifest=manifest, watermark=mark, notes=notes)
