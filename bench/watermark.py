"""Watermark benchmark: invisible-watermark's methods vs. Talkgate's scheme, same clips, same attacks, one table.

    python bench/watermark.py --quick          # ~4.5 minutes on the shared 2-core CPU
    python bench/watermark.py --clips 100      # the full run (long)
    python bench/watermark.py --clips 48 --baseline-clips 8   # baselines on the first 8 of the same clips

Each clip is 4 s of a real photo (scikit-image samples) moving like a talking portrait, 512x512 at 25 fps. A method
watermarks it, the result is published as H.264 CRF 18, then every attack decodes that, transforms it and re-encodes
it; all attacks except "excerpt" use the first 2 s, "excerpt" cuts the middle 2 s of the 4 s. A clip counts as
recovered when the full payload comes back: Talkgate's detector returns exactly the embedded id; a baseline's
majority vote over frames equals all 32 embedded bits (baselines are handed the original frame size and decode
each frame resized to it, since they have no resize search; our detector gets no such help). Bit accuracy:
per-frame accuracy of the 32 bits for the baselines, accuracy of the 108 coded bits before error correction for
Talkgate's scheme.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import watermark_visibility as vis
from provenance.watermark import Embedder, detect_image, detect_video, scheme, testing
from provenance.watermark import api as wm_api
from provenance.watermark.baseline import BaselineDecoder, id_bits
from provenance.watermark.media import read_rgb
from provenance.watermark.payload import encode_id, new_watermark_id

FPS = 25
CLIP_FRAMES = 2 * FPS
LONG_FRAMES = 4 * FPS
METHODS = ("dwtDct", "dwtDctSvd", "rivaGan", "talkgate")
# The first published embedding (activity mask, colour split, no per-pixel bound), read by today's detector.
LEGACY = "talkgate-v1"
OURS = ("talkgate", LEGACY)
# A spliced segment's reported span counts as right within this many seconds at each end (frames are sampled).
SPAN_TOLERANCE_S = 0.5


@dataclass
class Row:
    """Accumulated measurements of one method."""

    clips: int = 0
    frames_per_clip: int = 0
    recovered: dict[str, int] = field(default_factory=dict)
    missed: dict[str, list[str]] = field(default_factory=dict)  # attack -> the clips not recovered (photo, why)
    span_ok: dict[str, int] = field(default_factory=dict)  # attack -> recovered clips whose marked span was right
    bit_acc: dict[str, list[float]] = field(default_factory=dict)
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    visibility: list[vis.Visibility] = field(default_factory=list)
    embed_s: float = 0.0
    embed_frames: int = 0
    detect_s: float = 0.0
    detect_frames: int = 0


def quality(orig: np.ndarray, marked: np.ndarray, every: int = 5) -> tuple[float, float]:
    """Mean PSNR over all frames and mean SSIM over every `every`-th frame (RGB, 8-bit range)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    psnr = float(np.mean([peak_signal_noise_ratio(o, m, data_range=255) for o, m in zip(orig, marked, strict=True)]))
    ssim = float(
        np.mean(
            [
                structural_similarity(o, m, channel_axis=2, data_range=255)
                for o, m in zip(orig[::every], marked[::every], strict=True)
            ]
        )
    )
    return psnr, ssim


def embed(
    method: str, wm_id: str, frames: np.ndarray, batch: int = 16, strength: float | None = None
) -> tuple[np.ndarray, float]:
    """Watermark frames with a method; returns them and the seconds spent (batched for our scheme).

    strength: our scheme's base strength (RMS change of R, G, B at 512 px; None = the default).
    """
    base = strength or scheme.DEFAULT_STRENGTH
    if method == LEGACY:
        emb: Embedder | scheme.OwnEmbedder = scheme.OwnEmbedder(wm_id, base_strength=base, legacy=True)
    else:
        emb = Embedder(wm_id, method=method, base_strength=base)
    t = time.perf_counter()
    out = np.concatenate([emb.embed_batch(frames[i : i + batch]) for i in range(0, len(frames), batch)])
    return out, time.perf_counter() - t


def run_method(
    method: str,
    seeds: list[int],
    n_frames: int | None,
    baseline_detect_frames: int,
    attacks: tuple[testing.Attack, ...] = testing.ATTACKS,
    strength: float | None = None,
) -> Row:
    """Benchmark one method over clips (n_frames shortens the clips, for rivaGan)."""
    row = Row()
    decoder = BaselineDecoder(method) if method not in OURS else None
    for seed in seeds:
        # The id comes from the clip's seed: reruns (and other versions of the code) see exactly the same clips.
        wm_id = f"{int(np.random.default_rng(seed).integers(0, 2**32)):08x}"
        long_clip = testing.make_clip(seed, LONG_FRAMES)
        if n_frames is not None:
            long_clip = long_clip[: 2 * n_frames]
        marked, spent = embed(method, wm_id, long_clip, strength=strength)
        row.embed_s += spent
        row.embed_frames += len(long_clip)
        short = len(long_clip) // 2 if n_frames is not None else CLIP_FRAMES
        p, s = quality(long_clip[:short], marked[:short])
        row.psnr.append(p)
        row.ssim.append(s)
        row.visibility.append(vis.visibility(long_clip[:short], marked[:short]))
        published, _ = read_rgb(io.BytesIO(testing.encode(marked, FPS, crf=18)))
        row.clips += 1
        row.frames_per_clip = short
        for attack in attacks:
            source = published if attack.name == "excerpt" or attack.long_source else published[:short]
            video = testing.attack(source, FPS, attack)
            t = time.perf_counter()
            if decoder is None:
                res = detect_video(io.BytesIO(video))
                ok = res.watermark_id == wm_id
                if ok and attack.marked_span is not None:
                    span = res.details.get("marked_span_s") or (math.nan, math.nan)
                    right = max(abs(span[0] - attack.marked_span[0]), abs(span[1] - attack.marked_span[1]))
                    row.span_ok[attack.name] = row.span_ok.get(attack.name, 0) + int(right <= SPAN_TOLERANCE_S)
                truth = encode_id(wm_id)
                raw = np.frombuffer(res.details["raw_bits"].encode(), dtype=np.uint8) - ord("0")
                acc = float(np.mean(raw == truth))
                frames = res.frames_checked
                # Below the threshold the API withholds the id, so a CRC pass there may be the right id or not.
                why = f"score {res.score:.1f}" + (", CRC passed, below threshold" if res.details["crc_ok"] else "")
            else:
                frames_read, _ = read_rgb(io.BytesIO(video), max_frames=baseline_detect_frames)
                per_frame = np.stack([decoder.frame_bits(f, marked.shape[1:3]) for f in frames_read])
                vote = (per_frame.mean(axis=0) >= 0.5).astype(np.uint8)
                truth = id_bits(wm_id)
                ok = bool(np.all(vote == truth))
                acc = float(np.mean(per_frame == truth))
                frames = len(frames_read)
                why = f"bit accuracy {acc:.2f}"
            row.detect_s += time.perf_counter() - t
            row.detect_frames += frames
            row.recovered[attack.name] = row.recovered.get(attack.name, 0) + int(ok)
            if not ok:
                row.missed.setdefault(attack.name, []).append(
                    f"{seed} {testing.PHOTOS[seed % len(testing.PHOTOS)]} ({why})"
                )
            row.bit_acc.setdefault(attack.name, []).append(acc)
        print(f"  {method} clip seed={seed} done", file=sys.stderr, flush=True)
    return row


def null_scores(n: int, start: int = 0, crc_passes: list[tuple[int, float]] | None = None) -> tuple[list[float], int]:
    """Detection scores and the number of detections on n unmarked items: half clips (attacked), half single images.

    Items start..start+n-1: separate processes can share one large unmarked set.
    """
    scores: list[float] = []
    detections = 0
    crc_passes = [] if crc_passes is None else crc_passes  # (item, score) of readings whose payload passed the CRC
    for k in range(start, start + n):
        rng = np.random.default_rng(12345 + k)
        clip = testing.make_clip(50_000 + k, FPS if k % 2 == 0 else 1)
        attack = testing.ATTACKS[int(rng.integers(len(testing.ATTACKS)))]
        if k % 2 == 0:
            res = detect_video(io.BytesIO(testing.attack(clip, FPS, attack)))
        else:
            frame = clip[0]
            if rng.random() < 0.5:  # some screenshots are resized
                size = int(rng.integers(300, 720))
                frame = testing._resize(frame[None], size, size)[0]
            res = detect_image(frame)
        scores.append(res.score)
        detections += int(res.detected)
        if res.details.get("crc_ok"):
            crc_passes.append((k, round(res.score, 3)))
    return scores, detections


def ten_second_detection_time(marked: bool = True) -> float:
    """Seconds to detect our watermark in a 10-second 512x512 clip (decode included)."""
    clip = testing.make_clip(7, 10 * FPS)
    if marked:
        clip, _ = embed("talkgate", new_watermark_id(), clip)
    video = testing.encode(clip, FPS, crf=23)
    t = time.perf_counter()
    detect_video(io.BytesIO(video))
    return time.perf_counter() - t


def table(rows: dict[str, Row], notes: dict[str, str], attacks: tuple[testing.Attack, ...]) -> str:
    """A markdown table: one row per method, one column per attack (recovered share / mean bit accuracy)."""
    names = [a.name for a in attacks]
    head = ["method", "clips", *names, "PSNR dB", "SSIM", "embed ms/f", "detect ms/f"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, r in rows.items():
        cells = [method + notes.get(method, ""), str(r.clips)]
        for a in names:
            share = r.recovered.get(a, 0) / max(r.clips, 1)
            cells.append(f"{share:.0%} / {np.mean(r.bit_acc.get(a, [math.nan])):.2f}")
        cells += [
            f"{np.mean(r.psnr):.1f} (min {np.min(r.psnr):.1f})",
            f"{np.mean(r.ssim):.3f} (min {np.min(r.ssim):.3f})",
            f"{1000 * r.embed_s / max(r.embed_frames, 1):.1f}",
            f"{1000 * r.detect_s / max(r.detect_frames, 1):.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


ROOT = Path(__file__).resolve().parents[1]
GALLERY_DIR = ROOT / "docs" / "watermark-gallery"
# Photos with the edges the first mask drew on: portraits in dark clothes with white collars and braid, a bright
# rim on black, a tripod against the sky. Sources and licences: tests/fixtures/*/LICENSES.md, scikit-image.
GALLERY = (
    ("grace_hopper", ROOT / "tests/fixtures/engine/grace_hopper.jpg"),
    ("obama", ROOT / "tests/fixtures/faces/obama.jpg"),
    ("astronaut", None),
    ("camera", None),
    ("coffee", None),
)


def gallery(side: int = 48, zoom: int = 5) -> str:
    """Write one PNG per photo: its worst edge crop, original | first mark | today's mark | both changes x4."""
    from PIL import Image

    lines = []
    for name, path in GALLERY:
        if path is None:
            clip = testing.make_clip(3, 1, photo_name=name)
        else:
            # make_clip reads scikit-image photos only: the fixture portraits are cut square and resized by hand.
            img = np.asarray(Image.open(path).convert("RGB"))
            side_px = min(img.shape[:2])
            y0, x0 = (img.shape[0] - side_px) // 2, (img.shape[1] - side_px) // 2
            clip = testing._resize(np.ascontiguousarray(img[None, y0 : y0 + side_px, x0 : x0 + side_px]), 512, 512)
        frame = clip[0]
        wm_id = "5eed1d00"
        before = scheme.OwnEmbedder(wm_id, legacy=True).embed_batch(clip)[0]
        after = Embedder(wm_id).embed_batch(clip)[0]
        corner = vis.worst_edge_crop(frame, before, side)
        strip = vis.gallery_strip(frame, {"before": before, "after": after}, corner, side, zoom)
        out = GALLERY_DIR / f"{name}.png"
        vis.save_png(strip, out)
        b, a = (vis.visibility(clip, v[None]) for v in (before, after))
        lines.append(
            f"| `{out.relative_to(ROOT)}` | {name} at ({corner[1]}, {corner[0]}) | {b.max_change} / {a.max_change} | "
            f"{b.edge_chroma_max:.1f} / {a.edge_chroma_max:.1f} |"
        )
    head = "| file | photo, crop corner (x, y) | max change before / after | edge colour change before / after |"
    return "\n".join([head, "|---|---|---|---|", *lines])


def visibility_table(rows: dict[str, Row], notes: dict[str, str]) -> str:
    """Worst-pixel visibility of each method's marks (bench/watermark_visibility.py says what each column is)."""
    cells = {m: vis.summary(r.visibility) for m, r in rows.items() if r.visibility}
    if not cells:
        return ""
    head = ["method", *next(iter(cells.values()))]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m, c in cells.items():
        lines.append("| " + " | ".join([m + notes.get(m, ""), *c.values()]) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=20, help="clips for Talkgate's scheme (full run: 100)")
    ap.add_argument(
        "--baseline-clips", type=int, default=None, help="clips for dwtDct/dwtDctSvd (default: --clips); the first N"
    )
    ap.add_argument("--riva-clips", type=int, default=2, help="clips for rivaGan (~0.7 s per frame)")
    ap.add_argument("--riva-frames", type=int, default=10, help="rivaGan clips are this many frames long")
    ap.add_argument("--baseline-detect-frames", type=int, default=25, help="frames the baselines decode per clip")
    ap.add_argument("--null", type=int, default=1000, help="unmarked clips + images for the false-positive count")
    ap.add_argument("--first-clip", type=int, default=0, help="seed of the first clip (split long runs)")
    ap.add_argument("--first-null", type=int, default=0, help="index of the first unmarked item (split long runs)")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument(
        "--attacks", default="", help="comma-separated attack names (default: all; none: quality and visibility only)"
    )
    ap.add_argument(
        "--strength",
        type=float,
        default=None,
        help=f"Talkgate's base strength, RMS levels of R, G, B at 512 px (default {scheme.DEFAULT_STRENGTH}); "
        "TALKGATE_WATERMARK_STRENGTH in the service",
    )
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the bench machine is shared)")
    ap.add_argument("--quick", action="store_true", help="3 clips, one 2-frame rivaGan clip, 40 unmarked items")
    ap.add_argument("--calibrate", action="store_true", help="also print the unmarked score distribution")
    ap.add_argument("--null-out", type=Path, default=None, help="write the unmarked items' scores here (JSON)")
    ap.add_argument("--no-timing", action="store_true", help="skip the 10-second detection timings")
    ap.add_argument(
        "--gallery",
        action="store_true",
        help=f"only write the worst-edge crop gallery to {GALLERY_DIR.relative_to(ROOT)} (before / after) and list it",
    )
    args = ap.parse_args()
    if args.gallery:
        print(gallery())
        return
    if args.quick:
        args.clips, args.riva_clips, args.riva_frames, args.null, args.baseline_clips = 3, 1, 2, 40, 3
        args.baseline_detect_frames = 10
    torch.set_num_threads(args.threads)
    methods = [m for m in args.methods.split(",") if m]
    wanted = [a for a in args.attacks.split(",") if a and args.attacks != "none"]
    unknown = [a for a in wanted if a not in testing.ATTACKS_BY_NAME]
    if unknown:
        ap.error(f"unknown attacks {unknown}; choose from {', '.join(testing.ATTACKS_BY_NAME)}")
    attacks = () if args.attacks == "none" else tuple(testing.ATTACKS_BY_NAME[a] for a in wanted) or testing.ATTACKS
    rows: dict[str, Row] = {}
    notes: dict[str, str] = {}
    t0 = time.perf_counter()
    for method in methods:
        if method == "rivaGan":
            count, n_frames = args.riva_clips, args.riva_frames
            notes[method] = f" ({n_frames}-frame clips, excerpt = middle half)"
        elif method in OURS:
            count, n_frames = args.clips, None
        else:
            count, n_frames = args.baseline_clips or args.clips, None
        seeds = list(range(args.first_clip, args.first_clip + count))
        print(f"{method}: {len(seeds)} clips", file=sys.stderr, flush=True)
        strength = args.strength if method in OURS else None
        rows[method] = run_method(method, seeds, n_frames, args.baseline_detect_frames, attacks, strength)
    for m in methods:
        if m in ("dwtDct", "dwtDctSvd"):
            notes[m] = f" (detect: first {args.baseline_detect_frames} frames)"
    if args.strength is not None and "talkgate" in rows:
        notes["talkgate"] = f" (strength {args.strength})"
    rows = {m: r for m, r in rows.items() if r.clips}  # --clips 0: only the unmarked set and the timings
    if rows:
        print(table(rows, notes, attacks))
        print(
            "\nVisibility (max px: largest R, G or B change; >N: share of pixels changed by more than N levels; edge"
            " dC / dY: largest colour / luminance change on strong edges; flicker: mean frame-to-frame change of the"
            " mark on moving edges, its p99, and on still flat pixels; mean over clips, max in brackets)"
        )
        print(visibility_table(rows, notes))
    for method, r in rows.items():
        if method in OURS and r.missed:
            print(f"\nClips not recovered ({method}): seed photo (detection score)")
            for name, clips in r.missed.items():
                print(f"  {name}: " + ", ".join(clips))
        for name, right in r.span_ok.items():
            print(f"{method} {name}: marked span right within {SPAN_TOLERANCE_S} s in {right} of "
                  f"{r.recovered.get(name, 0)} recovered clips")  # fmt: skip
    if "talkgate" in methods and args.null > 0:
        crc_passes: list[tuple[int, float]] = []
        scores, detections = null_scores(args.null, args.first_null, crc_passes)
        if args.null_out:
            args.null_out.write_text(json.dumps({"first": args.first_null, "scores": scores, "crc": crc_passes}))
        q = np.quantile(scores, [0.5, 0.9, 0.99, 1.0])
        print(
            f"\nUnmarked content (talkgate detector): {detections} false detections in {args.null} items "
            f"({args.null // 2 + args.null % 2} attacked clips, {args.null // 2} images); detection score median "
            f"{q[0]:.2f}, p90 {q[1]:.2f}, p99 {q[2]:.2f}, max {q[3]:.2f} (threshold {wm_api.Z_THRESHOLD})"
        )
        print(f"Unmarked readings whose payload passed the CRC (item, score): {crc_passes or 'none'}")
        if args.calibrate:
            # Method-of-moments Gumbel fit of the null maxima.
            beta = float(np.std(scores) * math.sqrt(6) / math.pi)
            loc = float(np.mean(scores) - 0.5772 * beta)
            print(f"Gumbel fit of unmarked scores: NULL_LOC={loc:.3f} NULL_SCALE={beta:.3f}")
    if "talkgate" in methods and not args.no_timing:
        print(f"Detection of a 10-second 512x512 clip (decode included): {ten_second_detection_time():.2f} s")
        unmarked_s = ten_second_detection_time(False)
        print(f"Detection of a 10-second unmarked clip (every candidate scale read): {unmarked_s:.2f} s")
    print(f"\nthreads={args.threads}, total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
