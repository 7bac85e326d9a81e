"""Helpers for live-capture tests: a controllable server clock, small real WebM recordings, a session to drive."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import av
import numpy as np
from django.utils import timezone

from moderation import services
from moderation.models import CaptureSession, Consent


@dataclass
class Clock:
    """The capture service's idea of now, moved by hand (the rest of Django keeps the real time)."""

    now: datetime = field(default_factory=timezone.now)

    def tick(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def install_clock(monkeypatch: Any) -> Clock:
    from moderation.services import live_capture

    clock = Clock()
    monkeypatch.setattr(live_capture, "timezone", SimpleNamespace(now=lambda: clock.now))
    return clock


def small_webm(seconds: float, size: int = 64, fps: int = 10) -> bytes:
    """A real WebM (VP8 + Opus) as MediaRecorder writes one: a moving gradient and a quiet tone."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as c:
        video = c.add_stream("libvpx", rate=fps)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        audio = c.add_stream("libopus", rate=48000, layout="mono")
        ramp = np.linspace(0, 255, size, dtype=np.float32)
        for i in range(int(seconds * fps)):
            image = np.stack([np.tile((ramp + i * 9) % 256, (size, 1))] * 3, axis=-1).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            c.mux(video.encode(frame))
        c.mux(video.encode(None))
        t = np.arange(960) / 48000
        for i in range(int(seconds * 50)):
            tone = (0.05 * np.sin(2 * np.pi * 220 * (t + i * 0.02))).astype(np.float32).reshape(1, -1)
            af = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
            af.sample_rate, af.pts = 48000, i * 960
            c.mux(audio.encode(af))
        c.mux(audio.encode(None))
    return out.getvalue()


def split(data: bytes, parts: int) -> list[bytes]:
    """``data`` in ``parts`` consecutive pieces, as a recorder's chunks."""
    step = -(-len(data) // parts)
    return [data[i : i + step] for i in range(0, len(data), step)]


def started(consent: Consent) -> tuple[CaptureSession, str]:
    """A capture session for ``consent`` with its recording started: the session and the browser's upload key."""
    session, _ = services.capture_session_create(consent=consent)
    return services.capture_start(session=session, mime_type="video/webm;codecs=vp8,opus")


def record(session: CaptureSession, key: str, chunks: list[bytes], clock: Clock, every: float = 1.0) -> list[dict]:
    """Send the chunks one a second (by the clock), then keep sending the last one's copy until every prompt passed."""
    answers = []
    for seq, chunk in enumerate(chunks):
        clock.tick(every)
        answers.append(services.capture_chunk(session=session, upload_key=key, seq=seq, data=chunk))
    return answers
