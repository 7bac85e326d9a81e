"""The renderer (Rig) on a CUDA device: same frames as on the CPU, and how fast, at 512 and 1024 px.

Two steps, because a lent GPU machine may lack MediaPipe, PyAV and pocketsphinx:

    python bench/engine_cuda_check.py prepare /tmp/canvases.npz   # here: canvases, masks, a clip's parameters
    python bench/engine_cuda_check.py run /tmp/canvases.npz       # there: torch, numpy and OpenCV only
"""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package
FIXTURES = ROOT / "tests" / "fixtures" / "engine"


def prepare(out: str) -> None:
    """Canvases and masks of the Grace Hopper photo at 512 and 1024 px and the Harvard clip's parameters."""
    from gpu_worker.engine import RenderOptions, get_engine
    from gpu_worker.engine.face import build_canvas, load_photo

    engine = get_engine("cpu")
    photo_path = str(FIXTURES / "grace_hopper.jpg")
    photo = load_photo(photo_path)
    face = engine.faces.detect(photo)
    data: dict[str, np.ndarray] = {}
    for size in (512, 1024):
        canvas = build_canvas(photo, face, size, False, 1.0)
        data[f"img{size}"], data[f"lms{size}"] = canvas.image, canvas.landmarks
        data[f"m{size}"], data[f"mask{size}"] = canvas.photo_to_canvas, engine.faces.segment(canvas.image)
    _plan, raw = engine._prepare(photo_path, str(FIXTURES / "harvard_16k.wav"), RenderOptions(size=512))
    data["params"] = np.concatenate([b.params for b in raw])
    np.savez_compressed(out, **data)
    print("wrote", out)


def run(path: str) -> None:
    """Render the clip's parameters on CUDA: the first batch's latency, fps per batch size, CPU agreement."""
    import cv2
    import torch

    if not hasattr(cv2, "ximgproc"):
        # opencv-python-headless lacks the contrib modules the engine uses for its mask; timing is unaffected.
        cv2.ximgproc = types.SimpleNamespace(guidedFilter=lambda guide, src, r, eps: src)
    for name, sub in (("gpu_worker", "gpu_worker"), ("gpu_worker.engine", "gpu_worker/engine")):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [str(ROOT / sub)]  # the packages' __init__ imports PyAV and the watermark
            sys.modules[name] = module
    for missing in ("av", "pocketsphinx"):  # imported by modules the renderer's imports pull in, unused here
        try:
            __import__(missing)
        except ImportError:
            sys.modules[missing] = types.ModuleType(missing)
    from gpu_worker.engine.face import Canvas
    from gpu_worker.engine.render import Rig

    device = torch.device("cuda")
    print("torch", torch.__version__, torch.cuda.get_device_name(0))
    d = np.load(path)
    params = d["params"]
    for size in (512, 1024):
        canvas = Canvas(image=d[f"img{size}"], landmarks=d[f"lms{size}"], photo_to_canvas=d[f"m{size}"])
        mask = d[f"mask{size}"]
        cpu = Rig(canvas, mask, torch.device("cpu"))
        for attempt in ("first", "again"):  # the first build in a process also pays CUDA's start-up
            torch.cuda.synchronize()
            t = time.perf_counter()
            rig = Rig(canvas, mask, device)
            torch.cuda.synchronize()
            build_s = time.perf_counter() - t
            first = rig.render(params[:4])
            torch.cuda.synchronize()
            first_s = time.perf_counter() - t - build_s
            print(
                f"{size} px ({attempt}): rig built in {build_s * 1000:.0f} ms, first batch of {len(first)} "
                f"{first_s * 1000:.0f} ms"
            )
        diff = np.abs(cpu.render(params[:8]).astype(int) - rig.render(params[:8]).astype(int))
        print(f"{size} px: frames vs CPU, max difference {diff.max()} levels")
        for batch in (8, 32, 64):
            rig.render(params[:batch])
            torch.cuda.synchronize()
            t = time.perf_counter()
            n = sum(len(rig.render(params[i : i + batch])) for i in range(0, len(params) - batch + 1, batch))
            torch.cuda.synchronize()
            print(f"{size} px, batch {batch}: {n / (time.perf_counter() - t):.0f} fps (with mouth painting, to host)")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("prepare", "run"):
        raise SystemExit(__doc__)
    prepare(sys.argv[2]) if sys.argv[1] == "prepare" else run(sys.argv[2])
