"""Make the derived engine test portraits from licensed originals: ``python bench/engine_fixtures.py``.

Each output is recorded in tests/fixtures/engine/LICENSES.md with the command that made it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from gpu_worker.engine.face import FaceModels  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "engine"


def bright_backdrop(faces: FaceModels) -> np.ndarray:
    """The astronaut portrait on a light studio backdrop (a soft matte from the person mask and a guided filter)."""
    img = cv2.cvtColor(cv2.imread(str(FIXTURES / "astronaut.jpg")), cv2.COLOR_BGR2RGB)
    mask = faces.segment(img)
    # The guided filter snaps the coarse mask to the photo's own edges, so hair keeps a natural soft fringe.
    matte = np.clip(cv2.ximgproc.guidedFilter(img.astype(np.float32) / 255, mask.astype(np.float32), 6, 1e-3), 0, 1)
    h, w = img.shape[:2]
    yy = np.mgrid[:h, :w][0] / max(h, w)
    back = np.dstack([236 - 18 * yy, 233 - 16 * yy, 226 - 14 * yy]).astype(np.float32)
    back += np.random.default_rng(1).normal(0, 1.5, back.shape)  # a little sensor grain, as a real backdrop has
    out = matte[..., None] * img + (1 - matte[..., None]) * back
    return np.clip(out, 0, 255).astype(np.uint8)


def small_painting() -> np.ndarray:
    """A 394x500 oil-paint rendering of Grace Hopper's portrait whose face is about 60 px wide."""
    photo = cv2.imread(str(FIXTURES / "grace_hopper.jpg"))
    # The sitter, painted at the photo's own size (broad strokes), then shrunk into a larger canvas as in a
    # half-length portrait; the surroundings are a dark, painted ground with no second face in it.
    figure = cv2.resize(cv2.xphoto.oilPainting(photo, 5, 1), (190, 223), interpolation=cv2.INTER_AREA)
    h, w = 500, 394
    rng = np.random.default_rng(7)
    blotches = cv2.resize(rng.normal(0, 1, (10, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[:h, :w] / h
    tone = 0.55 + 0.25 * blotches - 0.35 * np.hypot(xx - 0.4, yy - 0.4)
    ground = np.dstack([40 + 35 * tone, 55 + 45 * tone, 62 + 55 * tone]).astype(np.float32)  # BGR, warm brown
    ground = cv2.xphoto.oilPainting(np.clip(ground, 0, 255).astype(np.uint8), 9, 1).astype(np.float32)
    y, x = 115, 102
    fy, fx = np.mgrid[:223, :190]
    # An oval vignette melts the figure's own backdrop into the ground.
    r = np.hypot((fx - 95) / 95, (fy - 130) / 125)
    alpha = np.clip((1.05 - r) / 0.25, 0, 1)[..., None]
    region = ground[y : y + 223, x : x + 190]
    ground[y : y + 223, x : x + 190] = alpha * figure + (1 - alpha) * region
    return cv2.cvtColor(np.clip(ground, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)


def main() -> int:
    """Write every derived fixture."""
    faces = FaceModels()
    out = FIXTURES / "astronaut_bright.jpg"
    cv2.imwrite(str(out), cv2.cvtColor(bright_backdrop(faces), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    print("wrote", out.relative_to(ROOT))
    out = FIXTURES / "painting_small_face.jpg"
    cv2.imwrite(str(out), cv2.cvtColor(small_painting(), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print("wrote", out.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
