"""Public entry points: embed a watermark id into frames, detect it in a video or an image."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from . import baseline, media, scheme

# The scheme's one name: detection reports it, and C2PA manifests name it as the soft-binding algorithm
# (provenance.signing.WATERMARK_ALG, kept equal without importing torch there). Before 2026-11-24 detection said
# "talkgate-tiled-ss-v1"; the pattern is the same, so the name is too.
METHOD = "io.talkgate.watermark.v1"

# Calibration on unmarked content (docs/watermark.md, `python bench/watermark.py --calibrate`): the best detection
# score an unmarked clip or image reaches over the whole search (geometry candidates, offsets, Viterbi's choice of
# payload) follows this Gumbel law; fitted by moments on 1300 unmarked items with the search as it is after issue 18
# (mirror, rotations, offset windows; median 8.87, max 10.21). The fit before, on 1000 items: 8.583 / 0.282.
NULL_LOC = 8.756
NULL_SCALE = 0.234
# Independently of the score, a random reading passes the CRC-16 with probability 2^-16 per path tried: each geometry
# candidate read offers the list decoder's LIST_SIZE paths.
CRC_PASS_BY_CHANCE = 2.0**-16
# A detection needs the CRC to match AND a score that unmarked content reaches in ~0.49 % of cases, so a false
# detection has probability ~0.0049 * 5 readings * 16 paths * 2^-16 ~= 6e-06 per item; verification then only
# names a job if the id is one of the N ids issued (another factor N / 2^32). Correct decodes in the benchmark
# mostly score 12-30; the weakest (combined attack, CRF 35) 10.1-10.5, and one combined-attack reading that
# passed the CRC scored 9.8 and was withheld.
Z_THRESHOLD = 10.0


@dataclass
class DetectionResult:
    """What detection found: the id only when both the CRC and the calibrated threshold agree."""

    detected: bool
    watermark_id: str | None
    confidence: float
    frames_checked: int
    bit_accuracy: float
    score: float
    details: dict[str, Any] = field(default_factory=dict)
    # False when a deadline stopped decoding or the scale search early: a detection still holds, a miss is
    # inconclusive.
    complete: bool = True


def sync_tail(score: float) -> float:
    """Probability that unmarked content reaches this detection score (calibrated Gumbel tail)."""
    return -math.expm1(-math.exp(-(score - NULL_LOC) / NULL_SCALE))


def false_alarm_probability(score: float, crc_ok: bool = True) -> float:
    """Probability that unmarked content gives a reading at least this strong (and, if crc_ok, passing the CRC)."""
    # Every path of every scale candidate read is one more chance for a random payload to pass the CRC.
    chances = scheme.MAX_READINGS * scheme.LIST_SIZE
    return sync_tail(score) * (CRC_PASS_BY_CHANCE * chances if crc_ok else 1.0)


@contextlib.contextmanager
def _cpu_threads(n: int) -> Iterator[None]:
    # Detection runs many small FFTs: on CPU, extra threads cost more in synchronisation than they save.
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _result(reading: scheme.Reading, frames_checked: int, complete: bool = True) -> DetectionResult:
    crc_ok = reading.wm_id is not None
    p_false = false_alarm_probability(reading.score, crc_ok)
    detected = crc_ok and reading.score >= Z_THRESHOLD
    # Below the threshold there is no calibrated claim to make: 1 - (share of unmarked items scoring this high) is
    # spread evenly over [0, 1] for unmarked content (that is what calibration means), so it cannot say "probably
    # marked". A miss reports 0; details["null_tail"] keeps that share for whoever studies near misses.
    confidence = 1.0 - p_false if detected else 0.0
    return DetectionResult(
        detected=detected,
        watermark_id=reading.wm_id if detected else None,
        confidence=confidence,
        frames_checked=frames_checked,
        bit_accuracy=reading.bit_accuracy,
        score=reading.score,
        details={
            "method": METHOD,
            "crc_ok": crc_ok,
            "false_alarm_probability": p_false,
            "null_tail": sync_tail(reading.score),
            "threshold": Z_THRESHOLD,
            "sync_score": reading.sync_z,
            "scale": reading.scale,
            "angle": reading.angle,
            "mirrored": reading.mirrored,
            "offset": reading.offset,
            # Hard decisions on the coded bits before error correction (for bit-accuracy measurements).
            "raw_bits": "".join("1" if v < 0 else "0" for v in reading.soft),
        },
        complete=complete and reading.complete,
    )


class Embedder:
    """Reusable, batched embedder of one watermark id (Talkgate's scheme or an invisible-watermark baseline)."""

    def __init__(
        self,
        wm_id: str,
        strength: float | None = None,
        device: str | torch.device | None = None,
        method: str = "talkgate",
        base_strength: float = scheme.DEFAULT_STRENGTH,
    ):
        self.wm_id = wm_id
        self.method = method
        if method == "talkgate":
            self._impl: scheme.OwnEmbedder | baseline.BaselineEmbedder = scheme.OwnEmbedder(
                wm_id, strength, device, base_strength=base_strength
            )
        elif method in baseline.BASELINE_METHODS:
            self._impl = baseline.BaselineEmbedder(wm_id, method)
        else:
            raise ValueError(f"unknown method {method!r}")

    def embed_batch(self, frames: np.ndarray) -> np.ndarray:
        """Watermark uint8 RGB frames (N, H, W, 3); returns the same shape and dtype."""
        return self._impl.embed_batch(frames)


def detect_video(
    source: media.Source,
    max_seconds: float | None = None,
    threads: int = 1,
    *,
    max_frames: int | None = None,
    max_pixels: int | None = None,
    deadline: float | None = None,
) -> DetectionResult:
    """Detect the watermark in a video file (path, file object or bytes), stream-decoded with PyAV.

    Bounded: at most `max_frames` frames and `max_seconds` seconds are decoded, frames above `max_pixels` raise
    media.FrameTooLarge, and past `deadline` (time.monotonic()) decoding and the scale search stop early
    (`complete` False). Only the frames detection reads are held in memory.
    """
    video = media.read_video_luma(source, max_seconds, max_frames=max_frames, max_pixels=max_pixels, deadline=deadline)
    complete = video.stopped != "deadline"
    if not video.frames:
        return DetectionResult(
            False, None, 0.0, 0, 0.0, 0.0, {"method": METHOD, "error": "no video frames"}, complete=complete
        )
    with _cpu_threads(threads):
        reading = scheme.read_frames(video.frames, video.keys, select=False, deadline=deadline)
    result = _result(reading, reading.frames_checked, complete)
    result.details.update(frames_decoded=video.decoded, stopped=video.stopped)
    if result.detected:
        result.details.update(_marked_span(reading.frame_z, video.times, video.frame_duration))
    return result


# A frame read counts as carrying the mark when its own correlation with the decoded pattern reaches this z (one
# frame of unmarked video: about N(0, 1) at a given offset; a marked frame after CRF 23: 5-15).
FRAME_MARKED_Z = 4.0


def _marked_span(frame_z: list[float], times: list[float], frame_duration: float) -> dict[str, Any]:
    """Where in the video the mark was found: first and last frame read that carry it, and the share of frames read.

    Frames are sampled (48 of a clip at most, key frames too), so the span is exact to the sampling step: a marked
    segment inside unmarked video shows as its sampled frames; the gaps between them are not checked.
    """
    if len(frame_z) != len(times) or not times:
        return {}
    marked = [t for z, t in zip(frame_z, times, strict=True) if z >= FRAME_MARKED_Z]
    if not marked:
        return {"marked_span_s": None, "marked_share": 0.0}
    return {
        "marked_span_s": (round(min(marked), 3), round(max(marked) + frame_duration, 3)),
        "marked_share": round(len(marked) / len(times), 3),
    }


def detect_image(
    source: media.Source | np.ndarray, threads: int = 1, *, deadline: float | None = None
) -> DetectionResult:
    """Detect the watermark in one image (path, file, bytes, or an RGB/greyscale array), e.g. a screenshot."""
    y = media.load_image(source)
    with _cpu_threads(threads):
        reading = scheme.read_frames([y], deadline=deadline)
    return _result(reading, 1)
