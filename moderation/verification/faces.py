"""Face detection and 128-d embeddings with dlib and the models shipped by face_recognition_models."""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

# dlib's ResNet embedding: two photos of one person are typically closer than 0.6 (its authors' figure).
DEFAULT_MATCH_DISTANCE = 0.6
# Faces narrower than this (in the image's own pixels) give unreliable embeddings.
DEFAULT_MIN_FACE_PX = 80
# Detection runs on a copy no larger than this; HOG time grows with the pixel count and faces in
# portraits are large, so nothing is lost by shrinking a 2000 px photo first.
_DETECT_MAX_SIDE = 800


class FaceError(Exception):
    """A face problem with a stable code: no_face, multiple_faces, face_too_small, image_invalid."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Face:
    """One detected face: box in image pixels, its embedding and its width in pixels."""

    box: tuple[int, int, int, int]
    embedding: np.ndarray
    size_px: int
    score: float = 0.0


def _check_image(image: Any) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise FaceError("image_invalid", "expected an RGB uint8 array of shape (H, W, 3)")
    if min(image.shape[:2]) < 32 or max(image.shape[:2]) > 12000:
        raise FaceError("image_invalid", f"image size {image.shape[1]}x{image.shape[0]} is out of range")
    return np.ascontiguousarray(image)


class FaceModel:
    """dlib HOG face detector, 68-point landmarks and ResNet embeddings, loaded once."""

    def __init__(self, min_face_px: int = DEFAULT_MIN_FACE_PX) -> None:
        import dlib

        with warnings.catch_warnings():
            # face_recognition_models imports pkg_resources, which warns about its own deprecation.
            warnings.simplefilter("ignore")
            import face_recognition_models as frm

        self.min_face_px = min_face_px
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(frm.pose_predictor_model_location())
        self._encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        self._rect = dlib.rectangle
        # dlib objects are not documented as thread-safe; Celery threads may share one model.
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray, upsample: int = 1) -> list[tuple[tuple[int, int, int, int], float]]:
        """Face boxes (x0, y0, x1, y1) in image pixels with detector scores, largest first."""
        image = _check_image(image)
        h, w = image.shape[:2]
        scale = min(1.0, _DETECT_MAX_SIDE / max(h, w))
        small = image
        if scale < 1.0:
            import cv2

            small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        with self._lock:
            rects, scores, _ = self._detector.run(small, upsample, 0.0)
        boxes = []
        for r, s in zip(rects, scores, strict=True):
            x0, y0 = max(0, round(r.left() / scale)), max(0, round(r.top() / scale))
            x1, y1 = min(w, round(r.right() / scale)), min(h, round(r.bottom() / scale))
            if x1 > x0 and y1 > y0:
                boxes.append(((x0, y0, x1, y1), float(s)))
        boxes.sort(key=lambda b: -(b[0][2] - b[0][0]))
        return boxes

    def landmarks(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The 68 dlib landmarks (x, y) of the face in ``box``, float32 (68, 2)."""
        with self._lock:
            shape = self._predictor(image, self._rect(*box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def embed(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The 128-d embedding of the face in ``box``."""
        image = _check_image(image)
        with self._lock:
            shape = self._predictor(image, self._rect(*box))
            vec = self._encoder.compute_face_descriptor(image, shape, 1)
        return np.asarray(vec, dtype=np.float32)

    def faces(self, image: np.ndarray) -> list[Face]:
        """Every detected face with its embedding, largest first."""
        image = _check_image(image)
        return [
            Face(box=box, embedding=self.embed(image, box), size_px=box[2] - box[0], score=score)
            for box, score in self.detect(image)
        ]

    def single_face_embedding(self, image: np.ndarray, face_index: int | None = None) -> np.ndarray:
        """The embedding of the one usable face (or of ``face_index``); FaceError otherwise."""
        image = _check_image(image)
        boxes = self.detect(image)
        if not boxes:
            raise FaceError("no_face", "no face was found in the image")
        if face_index is None:
            if len(boxes) > 1:
                raise FaceError("multiple_faces", f"{len(boxes)} faces were found; choose one with face_index")
            face_index = 0
        if not 0 <= face_index < len(boxes):
            raise FaceError("no_face", f"face_index {face_index} is out of range (found {len(boxes)})")
        box = boxes[face_index][0]
        if box[2] - box[0] < self.min_face_px:
            width = box[2] - box[0]
            raise FaceError("face_too_small", f"the face is {width} px wide; at least {self.min_face_px} needed")
        return self.embed(image, box)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        """Euclidean distance between two embeddings (same person typically < 0.6)."""
        return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))

    def best_distance(self, embedding: np.ndarray, references: list[np.ndarray]) -> float:
        """The smallest distance from ``embedding`` to any reference (inf when there are none)."""
        return min((self.distance(embedding, r) for r in references), default=float("inf"))


def match_gallery(
    embedding: np.ndarray, gallery: dict[str, list[np.ndarray]], threshold: float = DEFAULT_MATCH_DISTANCE
) -> list[tuple[str, float]]:
    """Gallery entries (name, best distance) closer than ``threshold`` to ``embedding``, nearest first."""
    hits = []
    for name, refs in gallery.items():
        if len(refs) == 0:
            continue
        d = float(np.min(np.linalg.norm(np.asarray(refs, dtype=np.float64) - embedding.astype(np.float64), axis=1)))
        if d < threshold:
            hits.append((name, d))
    return sorted(hits, key=lambda h: h[1])


_model: FaceModel | None = None
_model_lock = threading.Lock()


def get_face_model() -> FaceModel:
    """The process-wide FaceModel, loaded on first use."""
    global _model
    with _model_lock:
        if _model is None:
            _model = FaceModel()
        return _model


def load_image(path: str) -> np.ndarray:
    """An image file as RGB uint8 (EXIF orientation applied); FaceError image_invalid if unreadable."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise FaceError("image_invalid", f"cannot read image: {exc}") from exc
