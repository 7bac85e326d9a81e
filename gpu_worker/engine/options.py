"""Render options: the one definition of their names, ranges and defaults, and the render's result.

Imports neither torch nor Django, so the API builds its input fields from ``OPTION_SPECS`` and validates
against the same ranges the engine enforces; the CLI takes its flags from it too.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .errors import OPTIONS_INVALID, EngineError

GAZES = ("front", "left", "right", "up")
EMOTIONS = ("neutral", "happy", "surprised", "angry")
FRAMINGS = ("crop", "full_frame")


@dataclass(frozen=True)
class OptionSpec:
    """One option as callers see it: a number in a range, a choice, or text."""

    name: str
    kind: type  # int, float or str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    # The service's rule on top of the range (the engine itself rounds an odd size down to an even frame).
    multiple_of: int | None = None
    max_length: int | None = None
    nullable: bool = False

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed, or None."""
        if value is None:
            return None if self.nullable or self.kind is str else f"{self.name} is required"
        if self.choices is not None and value not in self.choices:
            return f"{self.name} must be one of {', '.join(self.choices)}"
        if self.minimum is not None and self.maximum is not None and not self.minimum <= value <= self.maximum:
            return f"{self.name} must be within {self.minimum:g}..{self.maximum:g}"
        if self.max_length is not None and len(value) > self.max_length:
            return f"{self.name} must be at most {self.max_length} characters"
        return None


OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("size", int, 512, "Output width and height in pixels.", 256, 1024, multiple_of=16),
    OptionSpec("fps", int, 25, "Frames per second.", 10, 60),
    OptionSpec("gaze", str, "front", "Where the eyes look.", choices=GAZES),
    OptionSpec("emotion", str, "neutral", "The expression the face holds.", choices=EMOTIONS),
    OptionSpec("head_distance", float, 1.0, "Zoom: above 1 shows more of the head and shoulders.", 0.7, 1.5),
    OptionSpec("motion", float, 1.0, "How much the head moves (0 keeps it still).", 0.0, 2.0),
    OptionSpec("seed", int, 0, "Seed of the random motion, for repeatable renders.", 0, 2**31 - 1),
    OptionSpec("transcript", str, "", "What the audio says, to sharpen lip sync (optional).", max_length=5000),
    OptionSpec("framing", str, "crop", "An aligned square crop, or the whole photo animated.", choices=FRAMINGS),
    OptionSpec("face_index", int, None, "Which face of a group photo (0 = largest).", 0, 20, nullable=True),
)
OPTIONS_BY_NAME = {spec.name: spec for spec in OPTION_SPECS}
BATCH_SIZE_RANGE = (1, 64)


@dataclass(frozen=True)
class RenderOptions:
    """What the caller can choose about one render (``batch_size`` is the engine's own, not an API option)."""

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

    @classmethod
    def from_api(cls, options: dict[str, Any]) -> RenderOptions:
        """The options of a job as the API stored them (missing names take their defaults); not yet validated."""
        value = {spec.name: options.get(spec.name, spec.default) for spec in OPTION_SPECS}
        framing = value.pop("framing")
        if framing not in FRAMINGS:
            raise EngineError(OPTIONS_INVALID, f"framing must be one of {', '.join(FRAMINGS)}")
        value["transcript"] = value["transcript"] or None
        return cls(**value, full_frame=framing == "full_frame")

    def as_api(self) -> dict[str, Any]:
        """The same options under the API's names."""
        value = {f.name: getattr(self, f.name) for f in fields(self) if f.name in OPTIONS_BY_NAME}
        return {**value, "transcript": self.transcript or "", "framing": FRAMINGS[int(self.full_frame)]}

    def validate(self) -> None:
        """Raise EngineError(options_invalid) when a value is out of range."""
        problems = [p for spec in OPTION_SPECS if (p := spec.problem(self.as_api()[spec.name]))]
        if not BATCH_SIZE_RANGE[0] <= self.batch_size <= BATCH_SIZE_RANGE[1]:
            problems.append(f"batch_size must be within {BATCH_SIZE_RANGE[0]}..{BATCH_SIZE_RANGE[1]}")
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
