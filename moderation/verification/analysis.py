"""What the checks share: the recording's faces, per frame (boxes, mouth openings, a few embeddings)."""

from __future__ import annotations

import numpy as np

from .faces import FaceModel


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-lip gap divided by the eye-corner distance (scale-free mouth opening)."""
    gap = np.mean([np.linalg.norm(landmarks[a] - landmarks[b]) for a, b in ((61, 67), (62, 66), (63, 65))])
    eyes = float(np.linalg.norm(landmarks[36] - landmarks[45]))
    return float(gap / eyes) if eyes > 1 else 0.0


# A generic head (millimetres; x to the image's right, y down, z into the face) at six of dlib's 68 points: nose
# tip, chin, the eyes' outer corners, the mouth's corners. Enough for solvePnP to tell which way the head faces.
_HEAD_POINTS = (30, 8, 36, 45, 48, 54)
_HEAD_MODEL = np.array(
    [(0.0, 0.0, 0.0), (0.0, 330.0, 65.0), (-225.0, -170.0, 135.0), (225.0, -170.0, 135.0),
     (-150.0, 150.0, 125.0), (150.0, 150.0, 125.0)],
    dtype=np.float64,
)  # fmt: skip


def head_pose(landmarks: np.ndarray, frame_shape: tuple[int, ...]) -> tuple[float, float]:
    """(yaw, pitch) in degrees: yaw > 0 when the subject turns to their own left, pitch > 0 when they look up.

    The camera's picture is not mirrored, so a subject turning to their left turns their nose to the image's right.
    """
    import cv2

    h, w = frame_shape[:2]
    camera = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], dtype=np.float64)
    image_points = landmarks[list(_HEAD_POINTS)].astype(np.float64)
    # Start from a frontal head at the distance its eye span implies: without a start, six points often let the
    # solver settle on the mirrored pose (a face turned 20 degrees read as -35).
    eyes_px = max(float(np.linalg.norm(image_points[3] - image_points[2])), 1.0)
    distance = w * 450.0 / eyes_px
    nose = image_points[0]
    rvec = np.zeros((3, 1))
    tvec = np.array([[(nose[0] - w / 2) * distance / w], [(nose[1] - h / 2) * distance / w], [distance]])
    ok, rvec, _ = cv2.solvePnP(_HEAD_MODEL, image_points, camera, None, rvec, tvec, True, cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return float("nan"), float("nan")
    rotation, _ = cv2.Rodrigues(rvec)
    # The face's outward normal (the model's -z) in camera coordinates; frontal is (0, 0, -1).
    nx, ny, nz = rotation @ np.array([0.0, 0.0, -1.0])
    return float(np.degrees(np.arctan2(nx, -nz))), float(np.degrees(np.arctan2(-ny, -nz)))


def analyse_faces(model: FaceModel, frames: list[np.ndarray], detect_every: int = 2, max_embeddings: int = 12) -> dict:
    """Per-frame face boxes (detected every few frames, reused between), mouth openings, head poses, embeddings."""
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
    pose = np.full((len(frames), 2), np.nan)
    for i, (frame, b) in enumerate(zip(frames, boxes, strict=True)):
        if b is not None:
            points = model.landmarks(frame, b)
            mouth[i] = mouth_opening(points)
            pose[i] = head_pose(points, frame.shape)
    with_face = [i for i, b in enumerate(boxes) if b is not None]
    picks = [with_face[round(k)] for k in np.linspace(0, len(with_face) - 1, min(max_embeddings, len(with_face)))]
    embeddings = [model.embed(frames[i], boxes[i]) for i in sorted(set(picks))]  # type: ignore[arg-type]
    return {"presence": detected / max(tried, 1), "mouth": mouth, "pose": pose, "boxes": boxes,
            "embeddings": embeddings}  # fmt: skip
