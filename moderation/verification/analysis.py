"""What the checks share: the recording's faces, per frame (boxes, mouth openings, a few embeddings)."""

from __future__ import annotations

import numpy as np

from .faces import FaceModel


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-lip gap divided by the eye-corner distance (scale-free mouth opening)."""
    gap = np.mean([np.linalg.norm(landmarks[a] - landmarks[b]) for a, b in ((61, 67), (62, 66), (63, 65))])
    eyes = float(np.linalg.norm(landmarks[36] - landmarks[45]))
    return float(gap / eyes) if eyes > 1 else 0.0


def analyse_faces(model: FaceModel, frames: list[np.ndarray], detect_every: int = 2, max_embeddings: int = 12) -> dict:
    """Per-frame face boxes (detected every few frames, reused between), mouth openings and embeddings."""
    boxes: list[tuple[int, int, int, int] | None] = []
    detected = 0
    tried = 0
    box: tuple[int, int, int, int] | None = None
    for i, frame in enumerate(frames):
        if i % detect_every == 0:
            tried += 1
            # Faces in a selfie recording are large: the plain scale finds them at a third of the
            # cost; upsampling is the fallback for small or distant faces.
            found = model.detect(frame, upsample=0) or model.detect(frame, upsample=1)
            # The largest face is the subject; a second small one is usually background.
            box = found[0][0] if found else None
            detected += bool(found)
        boxes.append(box)
    mouth = np.full(len(frames), np.nan)
    for i, (frame, b) in enumerate(zip(frames, boxes, strict=True)):
        if b is not None:
            mouth[i] = mouth_opening(model.landmarks(frame, b))
    with_face = [i for i, b in enumerate(boxes) if b is not None]
    picks = [with_face[round(k)] for k in np.linspace(0, len(with_face) - 1, min(max_embeddings, len(with_face)))]
    embeddings = [model.embed(frames[i], boxes[i]) for i in sorted(set(picks))]  # type: ignore[arg-type]
    return {"presence": detected / max(tried, 1), "mouth": mouth, "embeddings": embeddings}
