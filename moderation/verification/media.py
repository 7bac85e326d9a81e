"""Decoding recordings with PyAV: 16 kHz mono audio and video frames sampled at a fixed rate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

import numpy as np

SAMPLE_RATE = 16000


class MediaError(Exception):
    """The file cannot be decoded as the expected media."""


@dataclass
class Recording:
    """A decoded recording: RGB frames sampled at ``fps``, their times, and 16 kHz mono audio."""

    frames: list[np.ndarray]
    times: np.ndarray
    fps: float
    audio: np.ndarray
    duration_s: float


def measure_duration(path: str | IO[bytes], limit_s: float) -> float:
    """The real length in seconds, read from the packets (not the header, which may be missing or lie).

    Only demuxes (no decoding), and stops as soon as the length passes ``limit_s``: a long file costs no more
    than one just over the limit.
    """
    import av

    end = 0.0
    try:
        with av.open(path) as c:
            streams = [*c.streams.video[:1], *c.streams.audio[:1]]
            if not streams:
                raise MediaError("no audio or video stream")
            for packet in c.demux(streams):
                if packet.pts is None or packet.time_base is None:
                    continue
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
                if end > limit_s:
                    break
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"cannot read media: {exc}") from exc
    return end


def decode_audio(path: str, max_seconds: float | None = None) -> np.ndarray:
    """The first audio stream as 16 kHz mono float32 in [-1, 1] (at most ``max_seconds`` of it)."""
    import av

    limit = None if max_seconds is None else int(max_seconds * SAMPLE_RATE)
    try:
        with av.open(path) as c:
            if not c.streams.audio:
                raise MediaError("no audio stream")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            chunks = []
            kept = 0
            for frame in c.decode(c.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    kept += len(chunks[-1])
                if limit is not None and kept > limit:
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot decode audio: {exc}") from exc
    if not chunks:
        raise MediaError("the audio stream is empty")
    audio = np.concatenate(chunks)
    return (audio if limit is None else audio[: limit + 1]).astype(np.float32) / 32768.0


def decode_recording(path: str, fps: float = 10.0, max_side: int = 480, max_seconds: float = 61.0) -> Recording:
    """Video frames sampled at ``fps`` (shrunk to ``max_side``) plus the audio track, at most ``max_seconds``.

    Decoding stops just past the limit, so a recording whose header understates its length costs no more than
    one of the longest length allowed; ``duration_s`` then exceeds ``max_seconds`` and the caller refuses it.
    """
    import av
    import cv2

    frames: list[np.ndarray] = []
    times: list[float] = []
    next_t = 0.0
    try:
        with av.open(path) as c:
            if not c.streams.video:
                raise MediaError("no video stream")
            stream = c.streams.video[0]
            for frame in c.decode(stream):
                t = float(frame.time) if frame.time is not None else len(times) / fps
                if t > max_seconds:
                    times.append(t)
                    break
                # Sampling by timestamp keeps the analysis rate fixed whatever the camera's rate.
                if t + 1e-6 < next_t:
                    continue
                next_t = t + 1.0 / fps
                img = frame.to_ndarray(format="rgb24")
                rotation = int(getattr(frame, "rotation", 0) or 0)
                if rotation % 360:
                    # Phones store portrait video sideways plus a display rotation; faces are only
                    # found upright. PyAV reports the angle a player turns the picture clockwise.
                    img = np.ascontiguousarray(np.rot90(img, k=-round(rotation / 90)))
                h, w = img.shape[:2]
                if max(h, w) > max_side:
                    s = max_side / max(h, w)
                    img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
                frames.append(img)
                times.append(t)
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot decode video: {exc}") from exc
    if not frames:
        raise MediaError("the video has no frames")
    audio = decode_audio(path, max_seconds=max_seconds)
    duration = max(times[-1] + 1.0 / fps, len(audio) / SAMPLE_RATE)
    times = times[: len(frames)]
    return Recording(frames=frames, times=np.asarray(times), fps=fps, audio=audio, duration_s=duration)


def speech_envelope(audio: np.ndarray, times: np.ndarray, window_s: float) -> np.ndarray:
    """Log RMS energy of ``audio`` in a window centred on each time (dB)."""
    half = int(window_s * SAMPLE_RATE / 2)
    out = np.empty(len(times), dtype=np.float64)
    for i, t in enumerate(times):
        c = int(t * SAMPLE_RATE)
        seg = audio[max(0, c - half) : c + half]
        out[i] = 10 * np.log10(float(np.mean(seg.astype(np.float64) ** 2)) + 1e-8) if len(seg) else -80.0
    return out
