"""Engine errors: every refusal carries a stable machine-readable ``code``."""

from __future__ import annotations


class EngineError(Exception):
    """An input the engine cannot animate, or a render that stopped; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class EngineCancelled(EngineError):
    """The caller asked to stop; raised between batches."""

    def __init__(self, message: str = "render cancelled by the caller") -> None:
        super().__init__("cancelled", message)


# The codes the service can map to API errors; kept in one place so they stay stable.
NO_FACE = "no_face"
MULTIPLE_FACES = "multiple_faces"
FACE_TOO_SMALL = "face_too_small"
FACE_PROFILE = "face_profile"
FACE_INDEX_INVALID = "face_index_invalid"
IMAGE_INVALID = "image_invalid"
AUDIO_INVALID = "audio_invalid"
OPTIONS_INVALID = "options_invalid"
OUTPUT_INVALID = "output_invalid"
FRAME_HOOK_INVALID = "frame_hook_invalid"
