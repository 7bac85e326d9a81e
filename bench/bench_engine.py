"""Engine benchmark: speed per size and stage, quality re-measured on the output video, and realism.

Run: ``python bench/bench_engine.py`` (defaults: Grace Hopper photo, 10.8 s Harvard sentences,
256/512/1024 px at 25 fps, CUDA when present). Prints a speed table, a quality table and a realism table
(the seam round the head on a bright-backdrop portrait, the head rotation reached, how mouth openings spread).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from gpu_worker.engine import Engine, RenderOptions, get_engine  # noqa: E402
from gpu_worker.engine.audio import decode_audio, frame_features  # noqa: E402
from gpu_worker.engine.face import build_canvas, load_photo  # noqa: E402
from gpu_worker.engine.metrics import jitter, mouth_opening, pearson, rigid_residual  # noqa: E402
from gpu_worker.engine.realism import (  # noqa: E402
    SEAM_POSES,
    head_rings,
    head_rotation,
    opening_spread,
    pose_rows,
    seam_energy,
    warp_folds,
)
from gpu_worker.engine.render import Rig  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "engine"


def _read_video(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def main() -> int:
    """Render the clip at each size, print speed and quality tables."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--photo", default=str(FIXTURES / "grace_hopper.jpg"))
    ap.add_argument("--audio", default=str(FIXTURES / "harvard_16k.wav"))
    ap.add_argument("--sizes", default="256,512,1024")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--device", default=None)
    ap.add_argument("--quality-size", type=int, default=512, help="size whose output is re-measured")
    ap.add_argument("--seam-photo", default=str(FIXTURES / "astronaut_bright.jpg"), help="bright-backdrop portrait")
    ap.add_argument("--no-realism", action="store_true", help="skip the realism table")
    args = ap.parse_args()

    t0 = time.perf_counter()
    engine = get_engine(args.device)
    load_s = time.perf_counter() - t0
    duration = decode_audio(args.audio).duration_s
    print(
        f"device {engine.device}, models loaded in {load_s:.2f} s, audio {duration:.2f} s, torch threads "
        f"{__import__('torch').get_num_threads()}"
    )

    rows = []
    outputs: dict[int, Path] = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench_engine_"))
    for size in [int(s) for s in args.sizes.split(",")]:
        opts = RenderOptions(size=size, fps=args.fps)
        # time to first batch, through the generator API
        t = time.perf_counter()
        gen = engine.iter_frames(args.photo, args.audio, opts)
        next(gen)
        first_s = time.perf_counter() - t
        gen.close()
        out = tmp / f"out_{size}.mp4"
        t = time.perf_counter()
        result = engine.render_to_file(args.photo, args.audio, str(out), opts)
        total = time.perf_counter() - t
        outputs[size] = out
        tm = engine.last_timings
        rows.append(
            (
                size,
                result.frame_count / total,
                total / duration,
                first_s,
                tm.get("face", 0),
                tm.get("audio", 0) + tm.get("phones", 0),
                tm.get("motion", 0),
                tm.get("render", 0),
                tm.get("encode", 0),
            )
        )

    print()
    print(
        "| size | fps | real-time factor | first batch s | face s | audio+phones s | motion s | render s | encode s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r[0]} | {r[1]:.1f} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.3f} | "
            f"{r[7]:.2f} | {r[8]:.2f} |"
        )

    qsize = args.quality_size if args.quality_size in outputs else max(outputs)
    frames = _read_video(outputs[qsize])
    track = decode_audio(args.audio)
    loud = frame_features(track, args.fps, len(frames)).loudness
    lms = [engine.faces.landmarks(f) for f in frames]
    found = np.array([m is not None for m in lms])
    opening = np.array([mouth_opening(m) if m is not None else np.nan for m in lms])
    r = pearson(opening[found], loud[found])
    quiet = found & (loud < 0.05)
    photo = load_photo(args.photo)
    canvas = build_canvas(photo, engine.faces.detect(photo), qsize, False, 1.0)
    ident = np.array([rigid_residual(canvas.landmarks, m) for m in lms if m is not None])
    jit = jitter([m for m in lms if m is not None])
    arr = np.stack(frames).astype(np.float32)
    corner = arr[:, : qsize // 10, : qsize // 10]
    bg_motion = float(np.abs(corner - corner[0]).mean())
    print()
    print(f"Quality at {qsize} px, re-measured with MediaPipe face mesh on the decoded MP4 ({len(frames)} frames):")
    print()
    print("| metric | value | meaning |")
    print("|---|---:|---|")
    print(f"| face found in output | {found.mean() * 100:.1f} % | mesh finds the face in every frame |")
    print(f"| lip-sync r | {r:.2f} | Pearson(mouth opening on output, audio loudness); test needs >= 0.5 |")
    print(
        f"| mouth opening in silence | {np.median(opening[quiet]) if quiet.any() else float('nan'):.3f} | "
        f"median inner-lip gap / eye-mouth distance where loudness < 0.05 |"
    )
    print(f"| mouth opening in speech | {np.median(opening[found & (loud > 0.7)]):.3f} | same, loudness > 0.7 |")
    print(
        f"| identity residual | {ident.mean():.3f} (max {ident.max():.3f}) | rigid landmarks vs photo after "
        f"similarity alignment, eye-mouth units |"
    )
    try:
        from gpu_worker.engine.metrics import IdentityMeter, face_box

        meter = IdentityMeter()
        ref = meter.embedding(photo, face_box(engine.faces.detect(photo).landmarks))
        sample = [i for i in range(0, len(frames), 9) if lms[i] is not None]
        dists = np.array([np.linalg.norm(meter.embedding(frames[i], face_box(lms[i])) - ref) for i in sample])
        print(
            f"| dlib identity distance | {dists.mean():.3f} (max {dists.max():.3f}) | photo vs every 9th "
            f"output frame; same person < 0.6, issue target < 0.35 |"
        )
    except ImportError:
        print("| dlib identity distance | n/a | dlib-bin / face_recognition_models not installed |")
    print(f"| landmark jitter | {jit:.4f} | mean 2nd difference of rigid landmarks per frame, eye-mouth units |")
    print(f"| background motion | {bg_motion:.2f} | mean abs change of the top-left corner vs frame 0, 0-255 |")
    if not args.no_realism:
        speech = found & (loud > 0.35)
        _realism(engine, args, canvas.landmarks, lms, opening[speech])
    return 0


def _realism(engine: Engine, args: argparse.Namespace, ref: np.ndarray, lms: list, speech_opening: np.ndarray) -> None:
    """Print the realism table: head rotation reached and mouth spread (from the quality clip), seam (bright photo)."""
    rot = np.array([head_rotation(ref, m) for m in lms if m is not None])
    spread = opening_spread(speech_opening)
    # The seam: fixed poses rendered on a bright-backdrop portrait by the rig itself (no watermark, no encode).
    size = args.quality_size
    photo = load_photo(args.seam_photo)
    canvas = build_canvas(photo, engine.faces.detect(photo), size, False, 1.0)
    rig = Rig(canvas, engine.faces.segment(canvas.image), engine.device)
    rows = pose_rows(SEAM_POSES)
    frames = rig.render(rows)
    # The warp's own check: folds and inverse misses are what draw a seam.
    folds = warp_folds(rig, rows)
    still = canvas.image
    ref_seam = seam_energy(still, head_rings(engine.faces, still, engine.faces.landmarks(still)))
    ratios: dict[str, list[float]] = {"edge": [], "ridge": []}
    for f in frames:
        m = engine.faces.landmarks(f)
        if m is None:
            continue
        rings = head_rings(engine.faces, f, m)
        e = seam_energy(f, rings)
        for k in ratios:
            ratios[k].append(e[k] / max(ref_seam[k], 1e-6))
    print()
    seam_name = Path(args.seam_photo).name
    print(
        f"Realism at {size} px (head rotation and mouth from the quality clip; "
        f"seam: {len(rows)} fixed poses on {seam_name}):"
    )
    print()
    print("| metric | value | meaning |")
    print("|---|---:|---|")
    for j, name in enumerate(("yaw", "pitch", "roll")):
        lo, hi = np.percentile(rot[:, j], [2, 98])
        print(
            f"| head {name} reached | {lo:+.1f} .. {hi:+.1f} deg (max abs {np.abs(rot[:, j]).max():.1f}) | "
            f"2nd-98th percentile, mesh on the output vs the photo (3D skull points) |"
        )
    print(
        f"| mouth opening in speech | median {spread['median']:.3f}, p90 {spread['p90']:.3f}, "
        f"max {spread['max']:.3f} | inner-lip gap / eye-mouth where loudness > 0.35 |"
    )
    print(
        f"| median / max opening | {spread['median_over_max']:.2f} | most syllables open less than the widest vowel |"
    )
    print(
        f"| warp fold (min area ratio) | {folds['min_det']:.2f} | forward map round the head; "
        f"< 0 draws the outline twice |"
    )
    print(
        f"| warp inverse miss | p99 {folds['residual_p99']:.2f} px, max {folds['residual_max']:.2f} px | "
        f"smear / ghost outline where it is large |"
    )
    for k, meaning in (
        ("edge", "gradient energy on the head's outline (jaw, chin too) vs the same band in the photo"),
        ("ridge", "bright thin lines on the outline vs the photo"),
    ):
        v = np.array(ratios[k])
        print(f"| seam {k} ratio | mean {v.mean():.2f}, max {v.max():.2f} | {meaning} |")


if __name__ == "__main__":
    raise SystemExit(main())
