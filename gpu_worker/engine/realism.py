"""Realism measurements on rendered frames: the seam round the head, head rotation, mouth-opening spread."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from . import face as fl
from .face import FaceModels, eye_mouth_frame
from .motion import IDX, PARAMS
from .render import Rig

# Points of the face mesh that move rigidly with the skull (eye corners, nose bridge, temples, forehead):
# the rotation between two views of them is the head's rotation.
SKULL_POINTS = [33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 10, 151, 9, 234, 454, 127, 356, 70, 300]


def _luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)


def head_rings(faces: FaceModels, rgb: np.ndarray, lms: np.ndarray, width: int = 4, reach: int = 14) -> dict:
    """Masks near the head's outline in a frame: ``edge`` (within ``width`` of the person silhouette, plus the
    jaw and chin) and ``outside`` (background from ``width`` to ``reach`` px beyond the silhouette).

    The silhouette comes from the frame's own person mask, so both follow the head wherever it moved.
    """
    h, w = rgb.shape[:2]
    mask = (faces.segment(rgb) > 0.5).astype(np.uint8)

    def grow(r: int) -> np.ndarray:
        return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))

    k = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    edge = cv2.dilate(mask, k) - cv2.erode(mask, k)
    jaw = np.zeros((h, w), np.uint8)
    oval = lms[fl.FACE_OVAL, :2]
    # The lower half of the face oval (jaw, chin) meets the neck inside the person, where no silhouette is.
    lower = oval[oval[:, 1] > lms[1, 1]]
    order = np.argsort(np.arctan2(lower[:, 1] - lms[1, 1], lower[:, 0] - lms[1, 0]))
    cv2.polylines(jaw, [np.round(lower[order]).astype(np.int32)], False, 1, thickness=2 * width + 1)
    centre = oval.mean(axis=0)
    radius = float(np.ptp(oval, axis=0).max()) / 2
    yy, xx = np.mgrid[:h, :w]
    near = np.hypot(xx - centre[0], yy - centre[1]) < 1.7 * radius
    _, _, _, em = eye_mouth_frame(lms)
    above_shoulders = yy < lms[152, 1] + 0.5 * em
    head = near & above_shoulders
    return {"edge": ((edge > 0) & head) | (jaw > 0), "outside": ((grow(reach) - grow(width)) > 0) & head}


def _gradient_energy(rgb: np.ndarray) -> np.ndarray:
    luma = _luma(rgb)
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3) / 8
    return gx**2 + gy**2


def seam_energy(rgb: np.ndarray, rings: dict) -> dict[str, float]:
    """Gradient energy on the outline and in the background just beyond it, and bright-ridge strength."""
    g2 = _gradient_energy(rgb)
    smooth = cv2.GaussianBlur(_luma(rgb), (0, 0), 1.0)
    # A light line one or two pixels wide is a negative second derivative across it.
    ridge = np.clip(-cv2.Laplacian(smooth, cv2.CV_32F, ksize=3), 0, None)
    return {
        "edge": float(g2[rings["edge"]].mean()),
        "outside": float(g2[rings["outside"]].mean()) if rings["outside"].any() else 0.0,
        "ridge": float(ridge[rings["edge"]].mean()),
    }


def head_rotation(ref: np.ndarray, lms: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees of ``lms`` relative to ``ref`` from the mesh's 3D skull points."""
    a = ref[SKULL_POINTS].astype(np.float64)
    b = lms[SKULL_POINTS].astype(np.float64)
    a0, b0 = a - a.mean(0), b - b.mean(0)
    a0 /= np.sqrt((a0**2).sum(1).mean())
    b0 /= np.sqrt((b0**2).sum(1).mean())
    u, _, vt = np.linalg.svd(b0.T @ a0)
    d = np.sign(np.linalg.det(u @ vt))
    r = u @ np.diag([1, 1, d]) @ vt  # b0 ~ a0 @ r.T
    # Image axes: x right, y down, z away from the camera (MediaPipe); yaw about y, pitch about x, roll about z.
    yaw = np.degrees(np.arcsin(np.clip(r[0, 2], -1, 1)))
    pitch = np.degrees(np.arctan2(-r[1, 2], r[2, 2]))
    roll = np.degrees(np.arctan2(-r[0, 1], r[0, 0]))
    return float(yaw), float(pitch), float(roll)


def opening_spread(opening: np.ndarray) -> dict[str, float]:
    """How speech openings are spread: median, 90th percentile and maximum, and the median over the maximum."""
    o = np.asarray(opening, dtype=np.float64)
    o = o[np.isfinite(o)]
    if o.size == 0:
        return {"median": 0.0, "p90": 0.0, "max": 0.0, "median_over_max": 0.0}
    mx = float(o.max())
    return {
        "median": float(np.median(o)),
        "p90": float(np.percentile(o, 90)),
        "max": mx,
        "median_over_max": float(np.median(o) / mx) if mx > 0 else 0.0,
    }


@torch.no_grad()
def warp_folds(rig: Rig, params: np.ndarray) -> dict[str, float]:
    """How far the warp is from a clean one-to-one map around the head (mouth and eyes left out: they close).

    ``min_det``: the smallest area ratio of the forward map (below 0 the picture folds over itself: an outline
    drawn twice); ``residual_p99`` / ``residual_max``: pixels by which the inverse misses (a smeared outline).
    """
    p = torch.as_tensor(params, dtype=torch.float32, device=rig.device)
    flow = rig.flow(rig.displacements(p))
    base = rig.t_base.unsqueeze(0).expand(p.shape[0], -1, -1, -1)
    src = rig.invert(flow, base)
    span = torch.tensor([2.0 / ((rig.gw - 1) * rig.step), 2.0 / ((rig.gh - 1) * rig.step)], device=rig.device)
    back = F.grid_sample(flow, src * span - 1.0, mode="bilinear", padding_mode="border", align_corners=True)
    residual = (src + back.permute(0, 2, 3, 1) - base).norm(dim=-1).cpu().numpy()
    f = flow.cpu().numpy() / rig.step
    dudy, dudx = np.gradient(f[:, 0], axis=(1, 2))
    dvdy, dvdx = np.gradient(f[:, 1], axis=(1, 2))
    det = (1 + dudx) * (1 + dvdy) - dudy * dvdx
    grid = rig.t_base.cpu().numpy()
    away = np.linalg.norm(grid - rig.mouth, axis=-1) > 0.75 * rig.em
    # A closing eyelid folds the eye's opening shut on purpose; the eyes are left out like the mouth.
    for eye in rig.eye_centres:
        away &= np.linalg.norm(grid - eye, axis=-1) > 0.3 * rig.em
    moving = np.abs(f).sum(axis=1).max(axis=0) > 1e-3
    region = away & moving
    return {
        "min_det": float(det[:, region].min()),
        "residual_p99": float(np.percentile(residual[:, region], 99)),
        "residual_max": float(residual[:, region].max()),
    }


# Fixed poses for the seam: the same motion for any version of the rig, so figures compare like with like (a
# clip's own motion differs between versions). The turns and nods the motion model reaches, and a dropped jaw.
SEAM_POSES = [
    {"yaw": 12.0},
    {"yaw": -12.0},
    {"pitch": 8.0},
    {"pitch": -8.0},
    {"roll": 6.0},
    {"jaw": 1.0},
    {"yaw": -12.0, "pitch": 6.0, "jaw": 0.6},
    {"yaw": 10.0, "pitch": -5.0, "roll": 3.0, "jaw": 0.4},
]


def pose_rows(poses: list[dict[str, float]]) -> np.ndarray:
    """Motion parameter rows holding each pose (the rest at rest, scale 1), as the rig renders them."""
    rows = np.zeros((len(poses), len(PARAMS)), np.float32)
    rows[:, IDX["scale"]] = 1.0
    for row, pose in zip(rows, poses, strict=True):
        for name, value in pose.items():
            row[IDX[name]] = value
    return rows
