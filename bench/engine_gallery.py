"""Regenerate the engine gallery in docs/engine.md: ``python bench/engine_gallery.py``.

Still frames from the engine's renderer for each portrait: at rest, mouth open on a wide vowel, a middling
syllable, and the head turned either way (eyes kept on the camera, as the motion model keeps them). Writes one
JPEG strip per portrait under docs/gallery/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from gpu_worker.engine import get_engine  # noqa: E402
from gpu_worker.engine.face import build_canvas, load_photo  # noqa: E402
from gpu_worker.engine.motion import GAZE_PER_PITCH, GAZE_PER_YAW, IDX, PARAMS  # noqa: E402
from gpu_worker.engine.render import Rig  # noqa: E402

ENGINE = ROOT / "tests" / "fixtures" / "engine"
FACES = ROOT / "tests" / "fixtures" / "faces"
OUT = ROOT / "docs" / "gallery"

# (file name, photo, what it shows); licences in the fixtures' LICENSES.md files.
PORTRAITS = [
    ("bright-backdrop", ENGINE / "astronaut_bright.jpg", "bright backdrop"),
    ("glasses", ENGINE / "grace_hopper.jpg", "glasses, a cap, a flag behind"),
    ("smile-teeth", FACES / "obama.jpg", "a smile with teeth, dark curtains"),
    ("open-mouth", FACES / "obama2.jpg", "a mouth open in the photo"),
    ("light-wall", FACES / "biden.jpg", "an older face, a light wall and curtains"),
    ("small-painting", ENGINE / "painting_small_face.jpg", "a painting, face 76 px wide"),
    ("astronaut", ENGINE / "astronaut.jpg", "the original studio portrait"),
]
POSES = [
    ("rest", {}),
    ("wide vowel", {"jaw": 0.9, "width": 0.1}),
    ("syllable", {"jaw": 0.35, "width": 0.3}),
    ("turned", {"yaw": 12.0, "pitch": 3.0, "roll": 2.0, "jaw": 0.3}),
    ("turned back", {"yaw": -12.0, "pitch": -2.0, "roll": -2.0, "jaw": 0.15}),
]


def _rows() -> np.ndarray:
    rows = np.zeros((len(POSES), len(PARAMS)), np.float32)
    rows[:, IDX["scale"]] = 1.0
    for row, (_, pose) in zip(rows, POSES, strict=True):
        for name, value in pose.items():
            row[IDX[name]] = value
        row[IDX["gaze_x"]] += GAZE_PER_YAW * row[IDX["yaw"]]
        row[IDX["gaze_y"]] += GAZE_PER_PITCH * row[IDX["pitch"]]
    return rows


def main() -> int:
    """Render every portrait's strip and print the Markdown that shows them."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=512, help="render size (the strip is scaled to --cell)")
    ap.add_argument("--cell", type=int, default=384, help="width of one frame in the strip")
    args = ap.parse_args()
    engine = get_engine("cpu")
    OUT.mkdir(parents=True, exist_ok=True)
    rows = _rows()
    for name, path, what in PORTRAITS:
        photo = load_photo(str(path))
        face = engine.faces.detect(photo)
        canvas = build_canvas(photo, face, args.size, False, 1.0)
        rig = Rig(canvas, engine.faces.segment(canvas.image), engine.device)
        frames = rig.render(rows)
        cells = [cv2.resize(f, (args.cell, args.cell), interpolation=cv2.INTER_AREA) for f in frames]
        strip = cv2.cvtColor(np.hstack(cells), cv2.COLOR_RGB2BGR)
        out = OUT / f"{name}.jpg"
        cv2.imwrite(str(out), strip, [cv2.IMWRITE_JPEG_QUALITY, 88])
        small = " (small face: upscaled)" if face.small else ""
        print(f"![{what}{small}: {', '.join(p for p, _ in POSES)}](gallery/{name}.jpg)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
