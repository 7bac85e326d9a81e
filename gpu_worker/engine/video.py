"""Output: H.264 video + AAC audio in MP4 through PyAV, audio interleaved as the video advances."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np

AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)


class Mp4Writer:
    """Writes RGB frames and the original audio (re-encoded to AAC) into one MP4."""

    def __init__(
        self, path: str, width: int, height: int, fps: int, audio_path: str | None, audio_duration_s: float
    ) -> None:
        self.container = av.open(str(path), mode="w", format="mp4")
        self.fps = fps
        self.video = self.container.add_stream("libx264", rate=fps)
        self.video.width = width
        self.video.height = height
        self.video.pix_fmt = "yuv420p"
        self.video.time_base = Fraction(1, fps)
        # CRF 18: visually lossless enough that the watermark embedded before encoding survives.
        self.video.options = {"crf": "18", "preset": "veryfast"}
        self.frames_written = 0
        self.audio_duration_s = audio_duration_s
        self._audio_packets: Iterator[av.Packet] | None = None
        self._pending: av.Packet | None = None
        self.has_audio = False
        if audio_path is not None:
            self._open_audio(audio_path)

    def _open_audio(self, audio_path: str) -> None:
        self._src = av.open(str(audio_path))
        src_stream = next(s for s in self._src.streams if s.type == "audio")
        rate = int(src_stream.codec_context.sample_rate or 48000)
        if rate not in AAC_RATES:
            rate = 48000
        layout = "stereo" if (src_stream.codec_context.channels or 1) >= 2 else "mono"
        self.audio = self.container.add_stream("aac", rate=rate)
        self.audio.layout = layout
        self.audio.time_base = Fraction(1, rate)
        self._rate = rate
        self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        self._src_stream = src_stream
        self._audio_packets = self._encode_audio()
        self.has_audio = True

    def _encode_audio(self) -> Iterator[av.Packet]:
        """Decode the source and re-encode it with contiguous timestamps from zero."""
        pts = 0
        # Stop at the duration the engine analysed so audio and video lengths match.
        limit = round(self.audio_duration_s * self._rate)
        for frame in self._src.decode(self._src_stream):
            for out in self._resampler.resample(frame):
                if pts >= limit:
                    break
                if pts + out.samples > limit:
                    arr = out.to_ndarray()[:, : limit - pts]
                    out = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), format="fltp", layout=self.audio.layout)
                    out.sample_rate = self._rate
                out.pts = pts
                out.time_base = Fraction(1, self._rate)
                pts += out.samples
                yield from self.audio.encode(out)
        for out in self._resampler.resample(None):
            if pts >= limit:
                break
            out.pts = pts
            out.time_base = Fraction(1, self._rate)
            pts += out.samples
            yield from self.audio.encode(out)
        yield from self.audio.encode(None)

    def _mux_audio_until(self, t: float | None) -> None:
        if self._audio_packets is None:
            return
        while True:
            pkt = self._pending if self._pending is not None else next(self._audio_packets, None)
            self._pending = None
            if pkt is None:
                self._audio_packets = None
                return
            if t is not None and pkt.pts is not None and float(pkt.pts * pkt.time_base) > t:
                self._pending = pkt
                return
            self.container.mux(pkt)

    def write(self, frames: np.ndarray) -> None:
        """Encode a batch of RGB uint8 frames (N, H, W, 3)."""
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = self.frames_written
            frame.time_base = Fraction(1, self.fps)
            self.frames_written += 1
            for pkt in self.video.encode(frame):
                self.container.mux(pkt)
        self._mux_audio_until(self.frames_written / self.fps)

    def close(self) -> None:
        """Flush encoders and finish the file."""
        for pkt in self.video.encode(None):
            self.container.mux(pkt)
        self._mux_audio_until(None)
        self.container.close()
        if self.has_audio:
            self._src.close()

    def abort(self) -> None:
        """Close without caring about a complete file (the caller deletes it)."""
        with contextlib.suppress(av.FFmpegError, ValueError, OSError):
            self.container.close()
        if self.has_audio:
            self._src.close()
