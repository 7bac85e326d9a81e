"""The `invisible-watermark` package's methods (dwtDct, dwtDctSvd, rivaGan) as a baseline with the same shape."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import media, payload

BASELINE_METHODS = ("dwtDct", "dwtDctSvd", "rivaGan")


def _imwatermark() -> Any:
    # Imported lazily: the package imports torch and OpenCV and only the baseline needs it.
    import imwatermark

    return imwatermark


def id_bits(wm_id: str) -> np.ndarray:
    """The 32 raw id bits that the baseline embeds (it has no room for a check or a code)."""
    return payload.message_bits(wm_id)[: payload.ID_BITS]


class BaselineEmbedder:
    """Embeds a watermark id with one of invisible-watermark's methods, frame by frame."""

    def __init__(self, wm_id: str, method: str):
        if method not in BASELINE_METHODS:
            raise ValueError(f"unknown baseline method {method!r}; choose one of {BASELINE_METHODS}")
        iw = _imwatermark()
        self.wm_id = wm_id
        self.method = method
        self._encoder = iw.WatermarkEncoder()
        self._encoder.set_watermark("bits", id_bits(wm_id).tolist())
        if method == "rivaGan":
            iw.WatermarkEncoder.loadModel()

    def embed_batch(self, frames: np.ndarray) -> np.ndarray:
        """Watermark uint8 RGB frames shaped (N, H, W, 3) (the library works on BGR, one frame at a time)."""
        out = np.empty_like(frames)
        for i, rgb in enumerate(frames):
            bgr = np.ascontiguousarray(rgb[..., ::-1])
            marked = self._encoder.encode(bgr, self.method)
            out[i] = np.clip(marked, 0, 255).astype(np.uint8)[..., ::-1]
        return out


class BaselineDecoder:
    """Reads the 32 id bits per frame with one of invisible-watermark's methods."""

    def __init__(self, method: str):
        if method not in BASELINE_METHODS:
            raise ValueError(f"unknown baseline method {method!r}; choose one of {BASELINE_METHODS}")
        iw = _imwatermark()
        self.method = method
        self._decoder = iw.WatermarkDecoder("bits", payload.ID_BITS)
        if method == "rivaGan":
            iw.WatermarkDecoder.loadModel()

    def frame_bits(self, rgb: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """The bits read from one RGB frame, resized first to `size` (H, W) when given.

        These methods have no resize search: the benchmark hands them the original size, which favours them.
        Frames under 256x256 pixels are upscaled anyway, as the library refuses them.
        """
        from .testing import _resize

        if size is not None and rgb.shape[:2] != size:
            rgb = _resize(rgb[None], *size)[0]
        if rgb.shape[0] * rgb.shape[1] < 256 * 256:
            f = 256 / min(rgb.shape[:2])
            rgb = _resize(rgb[None], round(rgb.shape[0] * f), round(rgb.shape[1] * f))[0]
        bits = self._decoder.decode(np.ascontiguousarray(rgb[..., ::-1]), self.method)
        return np.asarray(bits, dtype=np.uint8)

    def video_bits(
        self, source: media.Source, max_frames: int | None = None, size: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, float]:
        """Majority vote of the per-frame bits over a video, and the mean per-frame bit agreement with the vote."""
        frames, _ = media.read_rgb(source, max_frames=max_frames)
        per_frame = np.stack([self.frame_bits(f, size) for f in frames])
        vote = (per_frame.mean(axis=0) >= 0.5).astype(np.uint8)
        return vote, float((per_frame == vote).mean())
