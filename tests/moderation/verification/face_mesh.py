"""A real face turned in 3D: MediaPipe's face mesh of a real photo, rotated and drawn back with the photo's skin.

No footage of a real head turning ships in any package this project can install, so the head-pose measurement is
tested on this: the 468 landmarks (with depth) MediaPipe finds on a real portrait, rotated about the head's centre
and rendered triangle by triangle (farthest first) from the photo's own pixels. It is a rigid 3D turn of a real
face's geometry, which a 2D warp of the photo is not.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np


@functools.cache
def face_mesh(path: str, width: int = 360) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The photo (scaled to ``width``), its mesh points (x, y, z in pixels; z grows away from the camera), triangles."""
    import cv2
    import mediapipe as mp
    from scipy.spatial import Delaunay

    from moderation.verification import load_image

    image = load_image(path)
    scale = width / image.shape[1]
    image = cv2.resize(image, (width, round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        found = mesh.process(image)
    h, w = image.shape[:2]
    points = np.array([(p.x * w, p.y * h, p.z * w) for p in found.multi_face_landmarks[0].landmark])
    return image, points, Delaunay(points[:, :2]).simplices


def turned(path: Path | str, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> np.ndarray:
    """The portrait with its face turned: yaw > 0 to the subject's own left, pitch > 0 looking up."""
    import cv2

    image, points, triangles = face_mesh(str(path))
    centre = points.mean(axis=0)
    centre[2] += 0.25 * (points[:, 0].max() - points[:, 0].min())  # the head turns about its middle, not its skin
    a, b = np.radians(yaw_deg), np.radians(pitch_deg)
    yaw = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    pitch = np.array([[1, 0, 0], [0, np.cos(b), np.sin(b)], [0, -np.sin(b), np.cos(b)]])
    moved = (points - centre) @ (yaw @ pitch).T + centre
    # The face's old place is blurred away first, so none of its features show beside the turned face.
    out = image.copy()
    hull = cv2.convexHull(points[:, :2].astype(np.int32))
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    mask = cv2.dilate(mask, np.ones((15, 15), np.uint8))
    blurred = cv2.GaussianBlur(image, (0, 0), 25)
    out[mask > 0] = blurred[mask > 0]
    for tri in sorted(triangles, key=lambda t: -moved[t, 2].mean()):  # farthest first
        src, dst = points[tri, :2].astype(np.float32), moved[tri, :2].astype(np.float32)
        x, y, w, h = cv2.boundingRect(dst)
        if w <= 0 or h <= 0:
            continue
        warp = cv2.getAffineTransform(src, dst - np.float32([x, y]))
        patch = cv2.warpAffine(image, warp, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        tri_mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(tri_mask, np.round(dst - [x, y]).astype(np.int32), 255)
        region = out[y : y + h, x : x + w]
        keep = tri_mask[: region.shape[0], : region.shape[1]] > 0
        region[keep] = patch[: region.shape[0], : region.shape[1]][keep]
    return out
