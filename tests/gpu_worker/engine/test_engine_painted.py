"""A painted portrait animates: an oil-paint rendering of a real photo (OpenCV's xphoto) speaks like a photo does."""

from __future__ import annotations

import cv2
import numpy as np

from gpu_worker.engine import RenderOptions
from gpu_worker.engine.face import build_canvas, load_photo
from gpu_worker.engine.metrics import measure_frames, mouth_opening


def test_an_oil_painted_portrait_opens_and_closes_its_mouth_with_the_speech(engine, fixtures, short_speech, tmp_path):
    # No public-domain painting ships in a package here, so the painting is made from a real portrait: broad,
    # flat brush strokes that remove the photographic texture the face models were trained on.
    photo = cv2.imread(str(fixtures / "grace_hopper.jpg"))
    painting = tmp_path / "painting.jpg"
    cv2.imwrite(str(painting), cv2.xphoto.oilPainting(photo, 9, 1))
    opts = RenderOptions(size=256, seed=2)
    batches = list(engine.iter_frames(str(painting), str(short_speech), opts, watermark_id="5eed0002"))
    frames = np.concatenate([b.frames for b in batches])
    landmarks = [m for m in measure_frames(engine.faces, frames[::2]) if m is not None]
    assert len(landmarks) >= 0.9 * len(frames[::2]), "the painted face stays a face in every frame"
    opening = np.array([mouth_opening(m) for m in landmarks])
    assert opening.max() - opening.min() > 0.05, "the mouth moves with the speech"


def test_a_small_painted_face_is_animated_from_an_upscaled_region_and_says_so(engine, fixtures, short_speech, tmp_path):
    # A 394x500 painting whose face is about 76 px wide: below the old 96 px limit, above the new 40 px one.
    painting = str(fixtures / "painting_small_face.jpg")
    face = engine.faces.detect(load_photo(painting))
    assert 40 <= max(face.box[2:]) < 96 and face.small
    seen: list[np.ndarray] = []

    def keep(frames: np.ndarray, first: int) -> np.ndarray:
        seen.append(frames.copy())  # before the watermark
        return frames

    out = tmp_path / "small.mp4"
    opts = RenderOptions(size=256, seed=2)
    result = engine.render_to_file(painting, str(short_speech), str(out), opts, frame_hook=keep)
    assert result.small_face
    frames = np.concatenate(seen)
    landmarks = [m for m in measure_frames(engine.faces, frames[::3]) if m is not None]
    assert len(landmarks) >= 0.9 * len(frames[::3])
    opening = np.array([mouth_opening(m) for m in landmarks])
    assert opening.max() - opening.min() > 0.05
    # The brush texture survives: the animated face keeps most of the upscaled painting's fine detail (the warp's
    # sub-pixel resampling costs ~20 %; a blur of one pixel over the face would cost over half).
    canvas = build_canvas(load_photo(painting), face, 256, False, 1.0)
    lms = canvas.landmarks
    x0, y0 = lms[:, :2].min(axis=0).astype(int)
    x1, y1 = lms[:, :2].max(axis=0).astype(int)

    def detail(img: np.ndarray) -> float:
        gray = cv2.cvtColor(np.ascontiguousarray(img[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F)).mean())

    assert detail(frames[0]) > 0.7 * detail(canvas.image)
    assert detail(cv2.GaussianBlur(canvas.image, (0, 0), 1.0)) < 0.5 * detail(canvas.image)  # the bound means it


def test_a_small_face_is_upscaled_with_lanczos_not_smoothed(engine, fixtures):
    painting = load_photo(str(fixtures / "painting_small_face.jpg"))
    face = engine.faces.detect(painting)
    canvas = build_canvas(painting, face, 512, False, 1.0).image
    # The same crop through bilinear resampling is softer: Lanczos keeps more of the strokes' edges.
    m = build_canvas(painting, face, 512, False, 1.0).photo_to_canvas
    soft = cv2.warpAffine(painting, m, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def sharpness(img: np.ndarray) -> float:
        gray = cv2.cvtColor(img[150:400, 150:360], cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F)).mean())

    assert sharpness(canvas) > 1.15 * sharpness(soft)
