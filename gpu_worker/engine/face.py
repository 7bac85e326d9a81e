"""Face: detection, 478 landmarks, checks that refuse unusable photos, and the aligned canvas."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import (
    FACE_INDEX_INVALID,
    FACE_PROFILE,
    FACE_TOO_SMALL,
    IMAGE_INVALID,
    MULTIPLE_FACES,
    NO_FACE,
    EngineError,
)

MIN_FACE_PX = 40
# Faces narrower than this are animated from an upscaled face region (Lanczos): paintings, old photographs and
# group photos; the render result says so.
SMALL_FACE_PX = 96
# Upscaling by more than this uses Lanczos resampling (sharper than bicubic, and it adds no smoothing of its own,
# so a painting keeps its brush strokes).
LANCZOS_ABOVE = 1.2
# Nose tip position between the outer eye corners, 0.5 when frontal; beyond this band the
# 2D warp would have to invent the hidden half of the face.
PROFILE_LIMIT = 0.27
MESH_INPUT = 384

# Landmark indices of the MediaPipe face mesh used by the rig.
LIPS_OUTER_UPPER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LIPS_OUTER_LOWER = [146, 91, 181, 84, 17, 314, 405, 321, 375]
LIPS_INNER_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LIPS_INNER_LOWER = [95, 88, 178, 87, 14, 317, 402, 318, 324]
MOUTH_CORNERS = [61, 291, 78, 308]
RIGHT_EYE_UPPER = [246, 161, 160, 159, 158, 157, 173]
RIGHT_EYE_LOWER = [33, 7, 163, 144, 145, 153, 154, 155, 133]
LEFT_EYE_UPPER = [466, 388, 387, 386, 385, 384, 398]
LEFT_EYE_LOWER = [263, 249, 390, 373, 374, 380, 381, 382, 362]
RIGHT_BROW = [70, 63, 105, 66, 107, 46, 53, 52, 65, 55]
LEFT_BROW = [300, 293, 334, 296, 336, 276, 283, 282, 295, 285]
RIGHT_IRIS = [468, 469, 470, 471, 472]
LEFT_IRIS = [473, 474, 475, 476, 477]
FACE_OVAL = [
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
]
NOSE = [1, 4, 5, 195, 197, 6, 168, 98, 327, 2, 94, 129, 358, 49, 279]
CHEEKS = [
    50,
    280,
    205,
    425,
    187,
    411,
    36,
    266,
    123,
    352,
    116,
    345,
    147,
    376,
    213,
    433,
    192,
    416,
    207,
    427,
    57,
    287,
    202,
    422,
    210,
    430,
    200,
    199,
    175,
    18,
    83,
    313,
    32,
    262,
    140,
    369,
    171,
    396,
    208,
    428,
    108,
    337,
    151,
    9,
    69,
    299,
]


@dataclass
class DetectedFace:
    """The chosen face in photo pixel coordinates."""

    landmarks: np.ndarray  # (478, 3); x, y in pixels, z in pixels (same scale as x)
    box: tuple[float, float, float, float]  # x, y, w, h

    @property
    def small(self) -> bool:
        """True when the face is narrower than SMALL_FACE_PX: it is animated from an upscaled region."""
        return max(self.box[2], self.box[3]) < SMALL_FACE_PX


def load_photo(path: str) -> np.ndarray:
    """Read a photo as RGB uint8; image_invalid when it is not an image."""
    data = np.fromfile(str(path), dtype=np.uint8) if _exists(path) else None
    if data is None or data.size == 0:
        raise EngineError(IMAGE_INVALID, "the photo file is missing or empty")
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise EngineError(IMAGE_INVALID, "the photo cannot be decoded as an image")
    if min(img.shape[:2]) < 64:
        raise EngineError(IMAGE_INVALID, "the photo is smaller than 64 px")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _exists(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


class FaceModels:
    """MediaPipe detection, mesh and selfie segmentation, loaded once and shared."""

    def __init__(self) -> None:
        from mediapipe.python.solutions import face_detection, face_mesh, selfie_segmentation

        self._detector = face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
        self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True)
        self._video_mesh = face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.3
        )
        self._segmenter = selfie_segmentation.SelfieSegmentation(model_selection=0)
        # MediaPipe graphs are not re-entrant; a worker may share one engine across threads.
        self._lock = threading.Lock()

    def detect(self, photo: np.ndarray, face_index: int | None = None) -> DetectedFace:
        """Find exactly one usable face (or the chosen one), refusing with a specific code."""
        h, w = photo.shape[:2]
        with self._lock:
            result = self._detector.process(np.ascontiguousarray(photo))
        boxes = []
        for det in result.detections or []:
            b = det.location_data.relative_bounding_box
            boxes.append((b.xmin * w, b.ymin * h, b.width * w, b.height * h))
        boxes.sort(key=lambda b: b[0])
        if not boxes:
            raise EngineError(NO_FACE, "no face was found in the photo")
        if face_index is None:
            if len(boxes) > 1:
                raise EngineError(MULTIPLE_FACES, f"{len(boxes)} faces were found; choose one with face_index")
            box = boxes[0]
        else:
            if face_index >= len(boxes):
                raise EngineError(FACE_INDEX_INVALID, f"face_index {face_index} but {len(boxes)} face(s) found")
            box = boxes[face_index]
        if max(box[2], box[3]) < MIN_FACE_PX:
            raise EngineError(
                FACE_TOO_SMALL,
                f"the face is {max(box[2], box[3]):.0f} px wide; at least {MIN_FACE_PX} needed",
            )
        lms = self._landmarks_in_box(photo, box)
        if lms is None:
            raise EngineError(NO_FACE, "a face was detected but its landmarks could not be found")
        check_frontal(lms)
        return DetectedFace(landmarks=lms, box=box)

    def _landmarks_in_box(self, photo: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
        """Run the mesh on a square crop around one face so other faces and small faces don't matter."""
        x, y, bw, bh = box
        cx, cy = x + bw / 2, y + bh / 2
        side = 2.0 * max(bw, bh)
        scale = MESH_INPUT / side
        m = np.array([[scale, 0, MESH_INPUT / 2 - scale * cx], [0, scale, MESH_INPUT / 2 - scale * cy]])
        # Small faces reach the mesh upscaled several times: a good resampler keeps their features readable.
        flags = cv2.INTER_LANCZOS4 if scale > LANCZOS_ABOVE else cv2.INTER_AREA
        crop = cv2.warpAffine(photo, m, (MESH_INPUT, MESH_INPUT), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        with self._lock:
            res = self._mesh.process(crop)
        if not res.multi_face_landmarks:
            return None
        pts = np.array([(p.x, p.y, p.z) for p in res.multi_face_landmarks[0].landmark], dtype=np.float64)
        pts *= MESH_INPUT
        out = np.empty_like(pts)
        out[:, 0] = (pts[:, 0] - m[0, 2]) / scale
        out[:, 1] = (pts[:, 1] - m[1, 2]) / scale
        out[:, 2] = pts[:, 2] / scale
        return out

    def landmarks(self, frame: np.ndarray) -> np.ndarray | None:
        """Landmarks (478, 3) of the single face in an RGB frame, pixels; None when none found."""
        with self._lock:
            res = self._video_mesh.process(np.ascontiguousarray(frame))
        if not res.multi_face_landmarks:
            return None
        h, w = frame.shape[:2]
        pts = np.array([(p.x, p.y, p.z) for p in res.multi_face_landmarks[0].landmark], dtype=np.float64)
        return pts * np.array([w, h, w])

    def segment(self, image: np.ndarray) -> np.ndarray:
        """Soft person mask (H, W) float32 in 0..1."""
        with self._lock:
            res = self._segmenter.process(np.ascontiguousarray(image))
        mask = res.segmentation_mask
        if mask is None:
            return np.ones(image.shape[:2], dtype=np.float32)
        return np.clip(mask.astype(np.float32), 0.0, 1.0)


def frontal_ratio(lms: np.ndarray) -> float:
    """Where the nose tip sits between the outer eye corners: 0.5 frontal, toward 0/1 in profile."""
    a, b, nose = lms[33, :2], lms[263, :2], lms[1, :2]
    ab = b - a
    return float(np.dot(nose - a, ab) / max(np.dot(ab, ab), 1e-6))


def check_frontal(lms: np.ndarray) -> None:
    """Refuse faces turned further than the warp can handle."""
    r = frontal_ratio(lms)
    if abs(r - 0.5) > PROFILE_LIMIT:
        raise EngineError(FACE_PROFILE, f"the face is turned too far (nose at {r:.2f} of the eye span)")


def eye_mouth_frame(lms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Eyes centre, mouth centre, unit x axis (image left to right along the eyes) and eye-mouth distance."""
    right_eye = lms[RIGHT_EYE_UPPER + RIGHT_EYE_LOWER, :2].mean(axis=0)  # image left
    left_eye = lms[LEFT_EYE_UPPER + LEFT_EYE_LOWER, :2].mean(axis=0)  # image right
    eyes = (right_eye + left_eye) / 2
    mouth = lms[[13, 14, 61, 291], :2].mean(axis=0)
    ex = left_eye - right_eye
    ex = ex / max(np.linalg.norm(ex), 1e-6)
    em = float(np.linalg.norm(mouth - eyes))
    return eyes, mouth, ex, em


@dataclass
class Canvas:
    """The image the engine animates (aligned crop or the resized full photo) and its landmarks."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    landmarks: np.ndarray  # (478, 3) in canvas pixels
    photo_to_canvas: np.ndarray  # 2x3 affine


def build_canvas(photo: np.ndarray, face: DetectedFace, size: int, full_frame: bool, head_distance: float) -> Canvas:
    """Aligned square crop (face centred, VASA-1-like margin) or the whole photo resized to ``size``."""
    lms = face.landmarks
    size -= size % 2  # H.264 in yuv420p needs even dimensions
    if full_frame:
        h, w = photo.shape[:2]
        s = size / max(h, w)
        out_w = max(2, round(w * s / 2) * 2)
        out_h = max(2, round(h * s / 2) * 2)
        m = np.array([[out_w / w, 0, 0], [0, out_h / h, 0]], dtype=np.float64)
        scale = out_w / w
    else:
        eyes, _mouth, ex, em = eye_mouth_frame(lms)
        # Eye-mouth distance times this gives the crop side: head and shoulders with some air.
        side = em * 4.6 * head_distance
        scale = size / side
        cos, sin = ex
        # rotate so the eyes are level, then put the eyes at 42 % of the height
        rot = np.array([[cos, sin], [-sin, cos]]) * scale
        target = np.array([size / 2, 0.42 * size])
        t = target - rot @ eyes
        m = np.hstack([rot, t[:, None]])
        out_w = out_h = size
    # Big downscales alias with bilinear sampling; pre-shrink with area averaging.
    src = photo
    if scale < 0.5:
        f = scale * 1.5
        src = cv2.resize(photo, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        m = m.copy()
        m[:, :2] /= f
    flags = cv2.INTER_LANCZOS4 if scale > LANCZOS_ABOVE else cv2.INTER_CUBIC
    canvas = cv2.warpAffine(src, m, (out_w, out_h), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    if scale < 0.5:
        m[:, :2] *= f
    pts = np.empty_like(lms)
    pts[:, :2] = lms[:, :2] @ m[:, :2].T + m[:, 2]
    pts[:, 2] = lms[:, 2] * scale
    return Canvas(image=canvas, landmarks=pts, photo_to_canvas=m)
