"""Video and image I/O with PyAV: luminance reading for detection, H.264 encoding for tests and the benchmark."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import BinaryIO

import av
import numpy as np

Source = str | os.PathLike[str] | BinaryIO | bytes


def _open(source: Source) -> av.container.InputContainer:
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    return av.open(source, mode="r")


def _luma(frame: av.VideoFrame) -> np.ndarray:
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "yuvj444p", "gray"):
        # The watermark lives in Y: reading the plane directly skips a colour conversion.
        plane = frame.planes[0]
        return np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)[:, : frame.width].copy()
    return frame.to_ndarray(format="gray")


class FrameTooLarge(ValueError):
    """A video whose frames hold more pixels than the caller allows (refused before they are decoded)."""

    def __init__(self, width: int, height: int, limit: int):
        super().__init__(f"{width}x{height} frames hold more than {limit} pixels")
        self.width, self.height, self.limit = width, height, limit


# Luminance pixels kept for detection at most: 48 frames of 1024x1024, the largest output (~200 MB as float32).
# Larger frames keep fewer (at least 4), so memory stays bounded whatever the frame size.
KEPT_PIXELS = 48 * 1024 * 1024
MIN_KEPT_FRAMES = 4


@dataclass
class VideoLuma:
    """The frames kept for detection (evenly spaced, plus key frames) and what decoding them cost."""

    frames: list[np.ndarray]
    keys: list[bool]
    decoded: int
    # Why decoding stopped before the end of the stream: "max_frames", "max_seconds", "deadline" (or None).
    stopped: str | None = None
    # Presentation time (seconds) of each kept frame, and the stream's frame duration (0.0: unknown).
    times: list[float] = field(default_factory=list)
    frame_duration: float = 0.0


def _expected_frames(stream: av.VideoStream, max_frames: int | None, max_seconds: float | None) -> int:
    """How many frames decoding will see, from the header (0: unknown); used to space the kept frames."""
    expected = int(stream.frames or 0)
    rate = float(stream.average_rate or 0)
    if not expected and stream.duration and stream.time_base and rate:
        expected = int(float(stream.duration * stream.time_base) * rate)
    if expected and max_seconds is not None and rate:
        expected = min(expected, int(max_seconds * rate) + 1)
    if expected and max_frames is not None:
        expected = min(expected, max_frames)
    return expected


def read_video_luma(
    source: Source,
    max_seconds: float | None = None,
    *,
    keep: int = 48,
    max_frames: int | None = None,
    max_pixels: int | None = None,
    deadline: float | None = None,
) -> VideoLuma:
    """Stream-decode a video's luminance, keeping only `keep` evenly spaced frames plus key frames (as many).

    Frames are never all held: with a frame count in the header the kept indices are planned (the same frames a
    full decode would pick); without one, every stride-th frame is kept and the stride doubles whenever too many
    are held. Decoding stops after `max_frames` frames, past `max_seconds`, or at `deadline` (time.monotonic());
    a frame larger than `max_pixels` raises FrameTooLarge (the header is checked before the first frame).
    """
    with _open(source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        ctx = stream.codec_context
        if max_pixels is not None and (ctx.width or 0) * (ctx.height or 0) > max_pixels:
            raise FrameTooLarge(ctx.width, ctx.height, max_pixels)
        if ctx.width and ctx.height:
            keep = max(MIN_KEPT_FRAMES, min(keep, KEPT_PIXELS // (ctx.width * ctx.height)))
        expected = _expected_frames(stream, max_frames, max_seconds)
        planned = set(np.linspace(0, expected - 1, min(expected, keep)).round().astype(int).tolist())
        rate = float(stream.average_rate or 0)
        # index -> (luminance, key frame, kept as a key frame: never thinned out, time in seconds)
        kept: dict[int, tuple[np.ndarray, bool, bool, float]] = {}
        stride, spaced, key_count = 1, 0, 0
        shape: tuple[int, int] | None = None
        decoded, stopped = 0, None
        for index, frame in enumerate(container.decode(stream)):
            if max_frames is not None and index >= max_frames:
                stopped = "max_frames"
                break
            if max_seconds is not None and frame.time is not None and frame.time > max_seconds:
                stopped = "max_seconds"
                break
            if deadline is not None and time.monotonic() > deadline:
                stopped = "deadline"
                break
            decoded += 1
            if max_pixels is not None and frame.width * frame.height > max_pixels:
                raise FrameTooLarge(frame.width, frame.height, max_pixels)
            # A stream may change size midway; detection stacks frames, so only the first size is read.
            if shape is None:
                shape = (frame.height, frame.width)
            elif shape != (frame.height, frame.width):
                continue
            is_key = bool(frame.key_frame)
            take_key = is_key and key_count < keep
            take_spaced = index in planned if expected else index % stride == 0
            if not (take_key or take_spaced):
                continue
            when = float(frame.time) if frame.time is not None else (index / rate if rate else float(index))
            kept[index] = (_luma(frame), is_key, take_key, when)
            key_count += take_key
            spaced += not take_key
            if not expected and spaced > 2 * keep:
                # Unknown length: thin the evenly spaced frames out to every other one, and go on at that pace.
                stride *= 2
                for i in [i for i, (_, _, pinned, _) in kept.items() if i % stride and not pinned]:
                    del kept[i]
                spaced = sum(1 for _, _, pinned, _ in kept.values() if not pinned)
    order = sorted(kept)
    return VideoLuma(
        [kept[i][0] for i in order], [kept[i][1] for i in order], decoded, stopped,
        times=[kept[i][3] for i in order], frame_duration=1.0 / rate if rate else 0.0,
    )  # fmt: skip


def read_rgb(source: Source, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decode a video into an (N, H, W, 3) uint8 RGB array and its frame rate."""
    frames: list[np.ndarray] = []
    with _open(source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or 25)
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if max_frames is not None and len(frames) >= max_frames:
                break
    return np.stack(frames), fps


def encode_h264(
    frames: Iterable[np.ndarray],
    path: str | os.PathLike[str] | BinaryIO,
    fps: float = 25,
    crf: int = 18,
    preset: str = "veryfast",
    x264_params: str | None = None,
) -> None:
    """Encode uint8 RGB frames (H, W, 3) to an MP4 with libx264 at the given CRF (yuv420p, like social networks).

    x264_params: extra libx264 settings, e.g. "keyint=1000:scenecut=0" for one key frame in the whole clip.
    """
    with av.open(path, mode="w", format="mp4") as container:
        stream: av.VideoStream | None = None
        for rgb in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                # yuv420p needs even dimensions.
                stream.height, stream.width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": preset}
                if x264_params:
                    stream.options = {**stream.options, "x264-params": x264_params}
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(rgb[: stream.height, : stream.width]), format="rgb24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)


def load_image(source: Source | np.ndarray) -> np.ndarray:
    """An image (path, file, bytes or array) as uint8 luminance; arrays may be HxW, HxWx3 RGB or HxWx4."""
    if isinstance(source, np.ndarray):
        arr = source
    else:
        with _open(source) as container:
            frame = next(container.decode(video=0))
            return frame.to_ndarray(format="gray")
    if arr.ndim == 2:
        return arr.astype(np.uint8)
    rgb = arr[..., :3].astype(np.float32)
    y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return np.clip(np.round(y), 0, 255).astype(np.uint8)
