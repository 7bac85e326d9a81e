"""Compact audio and face-motion fingerprints of a recording, for catching replays of earlier evidence."""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np

from .media import SAMPLE_RATE

_N_FFT = 512
_HOP = 256  # 16 ms at 16 kHz
_BANDS = np.geomspace(300.0, 3400.0, 18)  # 17 bands over the telephone speech range -> 16 bits per hop
FINGERPRINT_VERSION = 2

# Index descriptors: the loudness contour from the speech's onset (100 ms blocks) and the mouth-opening profile
# (the analysis rate's first samples). A copy of a recording, re-encoded, keeps both almost exactly; the bits
# of the audio fingerprint above do not (15-22 % of them flip in an AAC re-encode), so they cannot be hashed.
_CONTOUR_BLOCK_S = 0.1
_CONTOUR_BLOCKS = 64
_ONSET_DB = 30.0
_FLOOR_DB = 35.0
_MIN_DYNAMIC_DB = 10.0
_MOTION_SAMPLES = 48
# Locality-sensitive keys: signs of fixed random projections (SimHash), cut into bands; two descriptors at
# angle t share a band with probability (1 - t/pi)^BAND_BITS, so near copies meet in at least one band and
# unrelated recordings almost never do.
_BANDS_PER_KIND = 8
_BAND_BITS = 20
_KINDS = {"audio": (0, _CONTOUR_BLOCKS), "motion": (1, _MOTION_SAMPLES)}
_PROJECTION_SEED = 20261127  # part of the index format: changing it invalidates every stored key


def audio_bits(samples: np.ndarray) -> np.ndarray:
    """Binary spectral-difference fingerprint (frames x 16 bools): sign of band-energy slope changes."""
    if len(samples) < _N_FFT * 2:
        return np.zeros((0, 16), dtype=bool)
    n = 1 + (len(samples) - _N_FFT) // _HOP
    idx = np.arange(_N_FFT)[None, :] + _HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(samples[idx] * np.hanning(_N_FFT), axis=1)) ** 2
    freqs = np.fft.rfftfreq(_N_FFT, 1.0 / SAMPLE_RATE)
    band = np.stack(
        [spec[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) for lo, hi in itertools.pairwise(_BANDS)],
        axis=1,
    )
    e = np.log(band + 1e-9)
    diff = e[:, :-1] - e[:, 1:]
    # Changes over time of the spectral slope survive gain changes and re-encoding; raw energies do not.
    return (diff[1:] - diff[:-1]) > 0


def pack_bits(bits: np.ndarray) -> str:
    """Hex string of a (frames x 16) bit array."""
    return np.packbits(bits.astype(np.uint8), axis=1).tobytes().hex()


def unpack_bits(text: str) -> np.ndarray:
    """Inverse of pack_bits."""
    raw = np.frombuffer(bytes.fromhex(text), dtype=np.uint8).reshape(-1, 2)
    return np.unpackbits(raw, axis=1).astype(bool)


def audio_similarity(a: np.ndarray, b: np.ndarray, max_shift: int = 30) -> float:
    """1 - the lowest bit error rate over small time shifts (1.0 identical, about 0.5 unrelated)."""
    if len(a) < 20 or len(b) < 20:
        return 0.0
    best = 1.0
    for shift in range(-max_shift, max_shift + 1):
        x = a[max(0, shift) :]
        y = b[max(0, -shift) :]
        n = min(len(x), len(y))
        if n < 20:
            continue
        # Bits are compared over the longer recording's length so a short clip of silence cannot
        # look like a replay of a long one.
        errors = np.count_nonzero(x[:n] != y[:n]) + 16 * (max(len(a), len(b)) - n) * 0.5
        best = min(best, errors / (16 * max(len(a), len(b))))
    return 1.0 - best


def motion_similarity(a: list[float], b: list[float]) -> float:
    """Correlation of two mouth-opening series over their common length (0 when too short)."""
    n = min(len(a), len(b))
    if n < 10 or abs(len(a) - len(b)) > 0.2 * max(len(a), len(b)):
        return 0.0
    x, y = np.asarray(a[:n]), np.asarray(b[:n])
    if x.std() < 1e-6 or y.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def loudness_contour(samples: np.ndarray) -> list[float]:
    """Log loudness in 100 ms blocks from the speech's onset (found at 10 ms resolution), padded to 6.4 s."""
    hop = SAMPLE_RATE // 100
    n = len(samples) // hop
    if n < 2:
        return []
    fine = 10 * np.log10(np.mean(samples[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-10)
    if fine.max() - fine.min() < _MIN_DYNAMIC_DB:
        return []  # silence or a steady tone: nothing that tells one recording from another
    onset = int(np.argmax(fine >= fine.max() - _ONSET_DB)) * hop
    block = int(_CONTOUR_BLOCK_S * SAMPLE_RATE)
    tail = samples[onset : onset + block * _CONTOUR_BLOCKS].astype(np.float64)
    m = len(tail) // block
    levels = 10 * np.log10(np.mean(tail[: m * block].reshape(m, block) ** 2, axis=1) + 1e-10) if m else np.zeros(0)
    # Quiet parts are clipped to a floor below the loudest: codecs change silence and noise most.
    floor = float(fine.max()) - _FLOOR_DB
    levels = np.maximum(np.pad(levels, (0, _CONTOUR_BLOCKS - m), constant_values=floor), floor)
    return [round(float(v), 2) for v in levels]


def make_fingerprint(samples: np.ndarray, mouth: list[float], face_embedding: np.ndarray | None) -> dict[str, Any]:
    """The JSON-serialisable fingerprint stored with a recording's evidence."""
    return {
        "version": FINGERPRINT_VERSION,
        "audio_bits": pack_bits(audio_bits(samples)),
        "audio_contour": loudness_contour(samples),
        "mouth": [round(float(v), 4) for v in mouth],
        "face_embedding": None if face_embedding is None else [round(float(v), 5) for v in face_embedding],
    }


@functools.cache
def _projections(dim: int) -> np.ndarray:
    rng = np.random.default_rng(_PROJECTION_SEED + dim)
    return rng.standard_normal((_BANDS_PER_KIND * _BAND_BITS, dim))


def _descriptor(values: list[float] | None, dim: int) -> np.ndarray | None:
    """Zero-mean, unit-norm vector of the first ``dim`` values (None when there is nothing to describe)."""
    if not values or len(values) < dim // 4:
        return None
    x = np.zeros(dim)
    head = np.asarray(values[:dim], dtype=np.float64)
    x[: len(head)] = head - head.mean()
    norm = np.linalg.norm(x)
    return None if norm < 1e-6 else x / norm


def index_keys(fingerprint: dict[str, Any]) -> list[int]:
    """Locality-sensitive keys of a fingerprint: equal keys in an index point to candidate copies."""
    keys: list[int] = []
    sources = {"audio": fingerprint.get("audio_contour"), "motion": fingerprint.get("mouth")}
    for kind, (kind_id, dim) in _KINDS.items():
        vector = _descriptor(sources[kind], dim)
        if vector is None:
            continue
        bits = ((_projections(dim) @ vector) > 0).reshape(_BANDS_PER_KIND, _BAND_BITS).astype(np.int64)
        values = bits @ (np.int64(1) << np.arange(_BAND_BITS, dtype=np.int64))
        keys += [(kind_id << 28) | (band << _BAND_BITS) | int(v) for band, v in enumerate(values)]
    return keys


def replay_scores(fingerprint: dict[str, Any], earlier: list[dict[str, Any]]) -> tuple[float, float]:
    """Highest audio and face-motion similarity of ``fingerprint`` to any earlier fingerprint."""
    bits = unpack_bits(fingerprint["audio_bits"])
    best_audio, best_motion = 0.0, 0.0
    for old in earlier:
        try:
            old_bits = unpack_bits(old["audio_bits"])
            old_mouth = list(old.get("mouth") or [])
        except (KeyError, TypeError, ValueError):
            continue
        best_audio = max(best_audio, audio_similarity(bits, old_bits))
        best_motion = max(best_motion, motion_similarity(fingerprint["mouth"], old_mouth))
    return best_audio, best_motion
