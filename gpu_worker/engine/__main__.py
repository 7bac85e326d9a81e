"""CLI: ``python -m gpu_worker.engine PHOTO AUDIO -o OUT.mp4 [options]``."""

from __future__ import annotations

import argparse
import sys
import time

from .engine import get_engine
from .errors import EngineError
from .options import EMOTIONS, GAZES, RenderOptions


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (the watermark is not one of them: every output carries it)."""
    ap = argparse.ArgumentParser(prog="python -m gpu_worker.engine", description=__doc__)
    ap.add_argument("photo")
    ap.add_argument("audio")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--gaze", choices=GAZES, default="front")
    ap.add_argument("--emotion", choices=EMOTIONS, default="neutral")
    ap.add_argument("--head-distance", type=float, default=1.0)
    ap.add_argument("--motion", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--transcript", default=None)
    ap.add_argument("--face-index", type=int, default=None)
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    frame = ap.add_mutually_exclusive_group()
    frame.add_argument("--crop", dest="full_frame", action="store_false", help="aligned square crop (default)")
    frame.add_argument("--full-frame", dest="full_frame", action="store_true", help="animate the whole photo")
    ap.set_defaults(full_frame=False)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, render, print a one-line summary; exit 2 with the error code on refusal."""
    args = build_parser().parse_args(argv)
    opts = RenderOptions(
        size=args.size,
        fps=args.fps,
        gaze=args.gaze,
        emotion=args.emotion,
        head_distance=args.head_distance,
        motion=args.motion,
        seed=args.seed,
        transcript=args.transcript,
        full_frame=args.full_frame,
        face_index=args.face_index,
    )
    t0 = time.perf_counter()
    try:
        engine = get_engine(args.device)
        t1 = time.perf_counter()

        def progress(fraction: float, stage: str) -> None:
            print(f"\r{stage:8s} {fraction * 100:5.1f}%", end="", file=sys.stderr, flush=True)

        result = engine.render_to_file(args.photo, args.audio, args.output, opts, progress=progress)
    except EngineError as exc:
        print(f"\nerror {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    t2 = time.perf_counter()
    print(
        f"\n{args.output}: {result.width}x{result.height} {result.frame_count} frames @ {result.fps} fps, "
        f"watermark id {result.watermark_id} (Talkgate's engine, no job), "
        f"{result.duration_s:.2f} s audio; models {t1 - t0:.1f} s, render {t2 - t1:.1f} s "
        f"(real-time factor {(t2 - t1) / max(result.duration_s, 1e-6):.2f})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
