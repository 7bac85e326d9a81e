"""Render options and results exchanged with callers."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import OPTIONS_INVALID, EngineError

GAZES = ("front", "left", "right", "up")
EMOTIONS = ("neutral", "happy", "surprised", "angry")


@dataclass(frozen=True)
class RenderOptions:
    """What the caller can choose about one render."""

    size: int = 512
    fps: int = 25
    gaze: str = "front"
    emotion: str = "neutral"
    head_distance: float = 1.0
    motion: float = 1.0
    seed: int = 0
    transcript: str | None = None
    full_frame: bool = False
    face_index: int | None = None
    batch_size: int = 8

    def validate(self) -> None:
        """Raise EngineError(options_invalid) when a value is out of range."""
        problems = []
        if not 256 <= self.size <= 1024:
            problems.append("size must be within 256..1024")
        if not 10 <= self.fps <= 60:
            problems.append("fps must be within 10..60")
        if self.gaze not in GAZES:
            problems.append(f"gaze must be one of {', '.join(GAZES)}")
        if self.emotion not in EMOTIONS:
            problems.append(f"emotion must be one of {', '.join(EMOTIONS)}")
        if not 0.7 <= self.head_distance <= 1.5:
            problems.append("head_distance must be within 0.7..1.5")
        if not 0.0 <= self.motion <= 2.0:
            problems.append("motion must be within 0..2")
        if self.face_index is not None and self.face_index < 0:
            problems.append("face_index must be >= 0")
        if not 1 <= self.batch_size <= 64:
            problems.append("batch_size must be within 1..64")
        if problems:
            raise EngineError(OPTIONS_INVALID, "; ".join(problems))


@dataclass(frozen=True)
class RenderResult:
    """What a finished render produced."""

    width: int
    height: int
    fps: int
    frame_count: int
    duration_s: float
    has_audio: bool
    watermark_id: str = ""
    small_face: bool = False  # the face was narrower than 96 px: animated from an upscaled face region
