"""The face side of moderation: embeddings of photos through the verification library, loaded once per process."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image

from accounts.errors import DomainError


def photo_array(data: bytes) -> np.ndarray:
    """RGB uint8 pixels of an already-checked photo."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def single_embedding(data: bytes, *, face_index: int | None = None, what: str = "photo") -> tuple[list[float], Any]:
    """The embedding of the one face in the photo (or the chosen one); coded errors otherwise."""
    from moderation.verification import FaceError, get_face_model

    model = get_face_model()
    try:
        embedding = model.single_face_embedding(photo_array(data), face_index=face_index)
    except FaceError as exc:
        raise DomainError(f"The {what}: {exc.message}.", code=exc.code) from exc
    return [float(v) for v in embedding], []


def min_distance(embedding: list[float], references: list[list[float]]) -> float:
    """The smallest euclidean distance from one embedding to a set (dlib's scale: same person below ~0.6)."""
    if not references:
        return float("inf")
    refs = np.asarray(references, dtype=np.float64)
    return float(np.min(np.linalg.norm(refs - np.asarray(embedding, dtype=np.float64), axis=1)))


def match_threshold() -> float:
    return settings.TALKGATE_FACE_MATCH_THRESHOLD
