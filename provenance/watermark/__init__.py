"""Invisible, robust video watermark carrying a per-job watermark id (no Django: the GPU worker imports it)."""

from .api import METHOD, DetectionResult, Embedder, detect_image, detect_video, false_alarm_probability
from .baseline import BASELINE_METHODS
from .payload import new_watermark_id

__all__ = [
    "BASELINE_METHODS",
    "METHOD",
    "DetectionResult",
    "Embedder",
    "detect_image",
    "detect_video",
    "false_alarm_probability",
    "new_watermark_id",
]
