"""Audio: decode any common format, per-frame loudness/pitch/spectrum, voice activity and phones."""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from .. import sphinx
from .errors import AUDIO_INVALID, EngineError

SR = 16000
# pocketsphinx works on 10 ms frames.
PS_FRAME_S = 0.01


@dataclass
class PhoneSegment:
    """One phone with its time span in seconds."""

    phone: str
    start: float
    end: float


@dataclass
class AudioTrack:
    """Decoded audio (16 kHz mono float32) plus clip-level facts."""

    samples: np.ndarray
    duration_s: float
    source_rate: int
    source_channels: int


def decode_audio(path: str) -> AudioTrack:
    """Decode any format PyAV reads into 16 kHz mono float32; audio_invalid when it cannot."""
    try:
        with av.open(str(path)) as container:
            streams = [s for s in container.streams if s.type == "audio"]
            if not streams:
                raise EngineError(AUDIO_INVALID, "the file has no audio stream")
            stream = streams[0]
            rate = int(stream.codec_context.sample_rate or 0)
            channels = int(stream.codec_context.channels or 1)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SR)
            chunks: list[np.ndarray] = []
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except EngineError:
        raise
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise EngineError(AUDIO_INVALID, f"the audio cannot be decoded ({exc.__class__.__name__})") from exc
    if not chunks:
        raise EngineError(AUDIO_INVALID, "the audio stream holds no samples")
    pcm = np.concatenate(chunks).astype(np.float32) / 32768.0
    if pcm.size < SR // 10:
        raise EngineError(AUDIO_INVALID, "the audio is shorter than 0.1 s")
    return AudioTrack(samples=pcm, duration_s=pcm.size / SR, source_rate=rate or SR, source_channels=channels)


def _frames_at(samples: np.ndarray, times: np.ndarray, win: int) -> np.ndarray:
    """Windows of ``win`` samples centred on ``times`` (seconds), zero-padded at the ends."""
    half = win // 2
    padded = np.pad(samples, (half, half + 1))
    starts = np.clip(np.round(times * SR).astype(np.int64), 0, samples.size)
    idx = starts[:, None] + np.arange(win)[None, :]
    return padded[idx]


@dataclass
class AudioFeatures:
    """Per video frame: loudness (0..1), raw dB, pitch (Hz, 0 unvoiced), spectral centroid, low/high ratio."""

    loudness: np.ndarray
    db: np.ndarray
    pitch: np.ndarray
    centroid: np.ndarray
    voiced: np.ndarray


def frame_features(track: AudioTrack, fps: int, n_frames: int) -> AudioFeatures:
    """Loudness, pitch (YIN-style) and spectral shape for every video frame of the clip."""
    times = (np.arange(n_frames) + 0.5) / fps
    feats = []
    # Process in blocks so a 10-minute clip never materialises one huge window matrix.
    for start in range(0, n_frames, 2000):
        feats.append(_block_features(track.samples, times[start : start + 2000]))
    db = np.concatenate([f[0] for f in feats])
    pitch = np.concatenate([f[1] for f in feats])
    centroid = np.concatenate([f[2] for f in feats])
    hi = float(np.percentile(db, 95)) if db.size else -20.0
    lo = max(float(np.percentile(db, 10)), hi - 40.0)
    if hi - lo < 6.0:
        # Almost constant level (a tone, or silence): keep the mouth from flapping on noise.
        lo = hi - 40.0
    loud = np.clip((db - lo) / max(hi - lo, 1e-3), 0.0, 1.0)
    voiced = (pitch > 0).astype(np.float32)
    return AudioFeatures(loudness=loud.astype(np.float32), db=db, pitch=pitch, centroid=centroid, voiced=voiced)


def _block_features(samples: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    win = 800  # 50 ms: two periods of a 40 Hz floor, enough for male voices
    frames = _frames_at(samples, times, win)
    rms = np.sqrt(np.mean(frames**2, axis=1) + 1e-12)
    db = 20.0 * np.log10(rms + 1e-6)
    window = np.hanning(win).astype(np.float32)
    spec = np.abs(np.fft.rfft(frames * window, n=1024, axis=1))
    freqs = np.fft.rfftfreq(1024, 1.0 / SR)
    band = (freqs > 80) & (freqs < 6000)
    power = spec[:, band] ** 2
    centroid = (power @ freqs[band]) / (power.sum(axis=1) + 1e-9)
    pitch = _yin(frames, rms)
    return db.astype(np.float32), pitch.astype(np.float32), centroid.astype(np.float32)


def _yin(frames: np.ndarray, rms: np.ndarray) -> np.ndarray:
    """Fundamental frequency per window by the cumulative-mean-normalised difference (YIN)."""
    n = frames.shape[1]
    tau_min, tau_max = SR // 700, SR // 60
    x = frames - frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(x, n=2 * n, axis=1)
    acf = np.fft.irfft(spec * np.conj(spec), axis=1)[:, : tau_max + 1]
    energy = np.cumsum(x**2, axis=1)
    total = energy[:, -1:]
    # d(tau) = sum x_t^2 + sum x_{t+tau}^2 - 2 r(tau), over the overlapping part.
    late = total - np.concatenate([np.zeros((x.shape[0], 1)), energy[:, :tau_max]], axis=1)
    diff = _tail_energy(energy, tau_max) + late - 2 * acf
    diff[:, 0] = 0.0
    cum = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, tau_max + 1)[None, :]
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / (cum + 1e-12)
    pitch = np.zeros(frames.shape[0])
    sub = cmnd[:, tau_min:]
    below = sub < 0.2
    has = below.any(axis=1) & (rms > 1e-3)
    first = np.argmax(below, axis=1)
    for i in np.nonzero(has)[0]:
        t = first[i]
        # walk down to the local minimum after the threshold crossing
        while t + 1 < sub.shape[1] and sub[i, t + 1] < sub[i, t]:
            t += 1
        pitch[i] = SR / (t + tau_min)
    return pitch


def _tail_energy(energy: np.ndarray, tau_max: int) -> np.ndarray:
    """Energy of the first n - tau samples, for every lag tau."""
    n = energy.shape[1]
    idx = np.clip(n - 1 - np.arange(tau_max + 1), 0, n - 1)
    return energy[:, idx]


class VoiceActivity:
    """silero-vad, run through onnxruntime from the model file the silero-vad wheel ships."""

    CHUNK = 512
    CONTEXT = 64

    def __init__(self) -> None:
        import importlib.util

        import onnxruntime as ort

        # Locate the wheel's model without importing silero_vad: its import calls torch.set_num_threads(1),
        # and the thread count is the Engine's choice (cpu_threads), not a side effect of an import.
        spec = importlib.util.find_spec("silero_vad")
        if spec is None or spec.origin is None:
            raise RuntimeError("silero-vad is not installed")
        path = os.path.join(os.path.dirname(spec.origin), "data", "silero_vad.onnx")
        opts = ort.SessionOptions()
        # One thread: the VAD is tiny and per-call thread hand-off costs more than it saves.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability for every 32 ms chunk of 16 kHz audio."""
        n = int(np.ceil(samples.size / self.CHUNK))
        padded = np.zeros(n * self.CHUNK + self.CONTEXT, dtype=np.float32)
        padded[self.CONTEXT : self.CONTEXT + samples.size] = samples
        state = np.zeros((2, 1, 128), dtype=np.float32)
        sr = np.array(SR, dtype=np.int64)
        out = np.zeros(n, dtype=np.float32)
        with self._lock:
            for i in range(n):
                chunk = padded[i * self.CHUNK : i * self.CHUNK + self.CHUNK + self.CONTEXT][None, :]
                prob, state = self._session.run(None, {"input": chunk, "state": state, "sr": sr})
                out[i] = float(prob[0, 0])
        return out

    def per_frame(self, samples: np.ndarray, t0: float, fps: int, n_frames: int) -> np.ndarray:
        """Speech probability at each video frame of a segment starting at ``t0``."""
        probs = self.probabilities(samples)
        times = (np.arange(n_frames) + 0.5) / fps - t0
        idx = np.clip((times * SR / self.CHUNK).astype(np.int64), 0, max(probs.size - 1, 0))
        return probs[idx] if probs.size else np.zeros(n_frames, dtype=np.float32)


_WORD = re.compile(r"[a-z']+")


class PhoneRecognizer:
    """pocketsphinx phone decoding (no transcript) and forced alignment (with one)."""

    def __init__(self) -> None:
        self._allphone = sphinx.model_files()["allphone"]
        # Kept only for dictionary look-ups; decoding uses a fresh decoder per call (see _phone_decoder).
        self._dict_decoder = sphinx.new_decoder()
        self._spare_lock = threading.Lock()
        self._spare: Any = self._make_phone_decoder()

    def _make_phone_decoder(self) -> Any:
        return sphinx.new_decoder(dictionary=False, allphone=self._allphone, beam=1e-20, pbeam=1e-20, lw=2.0)

    def _phone_decoder(self) -> Any:
        # pocketsphinx carries adaptive state (cepstral mean and search history) from one utterance to
        # the next, and resetting the mean alone is not enough; a fresh decoder makes results depend on
        # this audio only, so the same inputs and seed give identical frames. Building one takes
        # 0.1-0.2 s, so an unused spare is kept for the first chunk of the next clip (see refill).
        with self._spare_lock:
            decoder, self._spare = self._spare, None
        return decoder if decoder is not None else self._make_phone_decoder()

    def refill(self) -> None:
        """Build the spare decoder now (called after a clip's last chunk, off the latency path)."""
        with self._spare_lock:
            if self._spare is not None:
                return
        decoder = self._make_phone_decoder()
        with self._spare_lock:
            if self._spare is None:
                self._spare = decoder

    def decode(self, samples: np.ndarray, t0: float) -> list[PhoneSegment]:
        """Phones heard in ``samples`` (16 kHz float), times offset by ``t0``."""
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes()
        d = self._phone_decoder()
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        segs = [(s.word, s.start_frame, s.end_frame) for s in d.seg()]
        return [PhoneSegment(w.upper(), t0 + a * PS_FRAME_S, t0 + (b + 1) * PS_FRAME_S) for w, a, b in segs]

    def known_words(self, transcript: str) -> list[str] | None:
        """The transcript's words when every one is in the pronouncing dictionary, else None."""
        words = _WORD.findall(transcript.lower())
        if not words:
            return None
        if any(self._dict_decoder.lookup_word(w) is None for w in words):
            return None
        return words

    def align(self, samples: np.ndarray, transcript: str) -> list[PhoneSegment] | None:
        """Forced alignment of ``transcript``; None when it cannot be aligned (unknown word, failure)."""
        words = self.known_words(transcript)
        if words is None:
            return None
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes()
        alignment = sphinx.forced_alignment(pcm, words)
        if alignment is None:
            return None
        out = []
        for word in alignment:
            for phone in word.phones:
                start = phone.start * PS_FRAME_S
                out.append(PhoneSegment(phone.name.upper(), start, start + phone.duration * PS_FRAME_S))
        return out or None
