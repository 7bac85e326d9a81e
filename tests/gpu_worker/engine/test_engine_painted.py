"""A painted portrait animates: an oil-paint rendering of a real photo (OpenCV's xphoto) speaks like a photo does."""

from __future__ import annotations

import cv2
import numpy as np

from gpu_worker.engine import RenderOptions
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
