"""The face side of moderation: embeddings of photos through the verification library, loaded once per process."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from core.errors import DomainError


def photo_array(data: bytes) -> np.ndarray:
    """RGB uint8 pixels of an already-checked photo."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def single_embedding(data: bytes, *, face_index: int | None = None, what: str = "photo") -> list[float]:
    """The embedding of the one face in the photo (or the chosen one); coded errors otherwise."""
    from moderation.verification import FaceError, get_face_model

    model = get_face_model()
    try:
        embedding = model.single_face_embedding(photo_array(data), face_index=face_index)
    except FaceError as exc:
        raise DomainError(f"The {what}: {exc.message}.", code=exc.code) from exc
    return [float(v) for v in embedding]


def min_distance(embedding: list[float], references: list[list[float]]) -> float:
    """The smallest distance from one embedding to a set (dlib's scale: same person below ~0.6); inf if empty."""
    from moderation.verification import FaceModel

    return min((FaceModel.distance(np.asarray(embedding), np.asarray(r)) for r in references), default=float("inf"))
