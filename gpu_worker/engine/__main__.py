"""CLI: ``python -m gpu_worker.engine PHOTO AUDIO -o OUT.mp4 [options]``."""

from __future__ import annotations

import argparse
import sys
import time

from .engine import get_engine
from .errors import EngineError
from .options import OPTION_SPECS, RenderOptions


def build_parser() -> argparse.ArgumentParser:
    """The command line's options (the watermark is not one of them: every output carries it)."""
    ap = argparse.ArgumentParser(prog="python -m gpu_worker.engine", description=__doc__)
    ap.add_argument("photo")
    ap.add_argument("audio")
    ap.add_argument("-o", "--output", required=True)
    for spec in OPTION_SPECS:
        if spec.name == "framing":
            continue  # --crop / --full-frame below
        flag = "--" + spec.name.replace("_", "-")
        kind = None if spec.kind is str else spec.kind
        ap.add_argument(flag, type=kind, choices=spec.choices, default=spec.default, help=spec.help)
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    frame = ap.add_mutually_exclusive_group()
    frame.add_argument("--crop", dest="full_frame", action="store_false", help="aligned square crop (default)")
    frame.add_argument("--full-frame", dest="full_frame", action="store_true", help="animate the whole photo")
    ap.set_defaults(full_frame=False)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, render, print a one-line summary; exit 2 with the error code on refusal."""
    args = build_parser().parse_args(argv)
    chosen = {spec.name: getattr(args, spec.name) for spec in OPTION_SPECS if spec.name != "framing"}
    opts = RenderOptions.from_api({**chosen, "framing": "full_frame" if args.full_frame else "crop"})
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
        f"watermark id {result.watermark_id} ({engine.name} {engine.version}, no job), "
        f"{result.duration_s:.2f} s audio; models {t1 - t0:.1f} s, render {t2 - t1:.1f} s "
        f"(real-time factor {(t2 - t1) / max(result.duration_s, 1e-6):.2f})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
