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


def main() -> int:
    """Write every derived fixture."""
    faces = FaceModels()
    out = FIXTURES / "astronaut_bright.jpg"
    cv2.imwrite(str(out), cv2.cvtColor(bright_backdrop(faces), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    print("wrote", out.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
