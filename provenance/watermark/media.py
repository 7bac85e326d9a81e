"""Video and image I/O with PyAV: luminance reading for detection, H.264 encoding for tests and the benchmark."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
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


def read_video_luma(source: Source, max_seconds: float | None = None) -> tuple[list[np.ndarray], list[bool]]:
    """Decode the luminance planes of a video and whether each frame was intra-coded (a key frame)."""
    frames: list[np.ndarray] = []
    keys: list[bool] = []
    with _open(source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if max_seconds is not None and frame.time is not None and frame.time > max_seconds:
                break
            frames.append(_luma(frame))
            keys.append(bool(frame.key_frame))
    return frames, keys


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
) -> None:
    """Encode uint8 RGB frames (H, W, 3) to an MP4 with libx264 at the given CRF (yuv420p, like social networks)."""
    with av.open(path, mode="w", format="mp4") as container:
        stream: av.VideoStream | None = None
        for rgb in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                # yuv420p needs even dimensions.
                stream.height, stream.width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": preset}
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
