"""C2PA benchmark: time to sign and to verify 10 s and 60 s 512x512 MP4s (c2pa-python, ES256, this CPU).

    .venv/bin/python bench/c2pa_signing.py [--repeat 5]

The clips are real H.264 + AAC made with PyAV from a real photo (scikit-image's astronaut) with a slow pan, so
the media size is like an output's. Signing and reading use a fresh development chain.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the c2pa package; replacing the script's folder on sys.path keeps `import c2pa` real.
sys.path[0] = str(ROOT)

from provenance import keys, signing  # noqa: E402


def make_clip(seconds: int, size: int = 512, fps: int = 25) -> bytes:
    photo = np.asarray(
        Image.open(ROOT / "tests/fixtures/engine/astronaut.jpg").convert("RGB").resize((size + 64, size + 64))
    )
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "20", "preset": "veryfast"})
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono")
        for i in range(seconds * fps):
            dx = int(32 + 30 * np.sin(i / 40))
            frame = np.ascontiguousarray(photo[16 : 16 + size, dx : dx + size])
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
        tone = (0.1 * np.sin(np.arange(seconds * 16000) * 2 * np.pi * 220 / 16000)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            frame = av.AudioFrame.from_ndarray(tone[start : start + 1024].reshape(1, -1), format="fltp", layout="mono")
            frame.sample_rate = 16000
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = keys.bootstrap_dev_chain(Path(tempfile.mkdtemp(prefix="talkgate-c2pa-")))
    creds = keys.load_credentials(
        chain_file=folder / keys.CHAIN, key_file=folder / keys.KEY, callback=None, tsa_url=None
    )
    anchors = (folder / keys.ROOT).read_text()
    version = signing.c2pa.sdk_version()
    print(f"\nc2pa-python 0.38 (c2pa-rs {version}), ES256 (P-256), no TSA, {args.repeat} runs each, median\n")
    print("| clip | size MB | sign ms | verify ms | state |")
    print("|---|---|---|---|---|")
    for seconds in (10, 60):
        clip = make_clip(seconds)
        manifest = signing.manifest_for(job_id="bench", watermark_id="0" * 16, duration_s=seconds,
                                        engine_name="bench-engine", engine_version="b",
                                        policy_version="b", generator_version="bench")  # fmt: skip
        sign_ms, read_ms, state = [], [], ""
        for _ in range(args.repeat):
            started = time.perf_counter()
            signed = signing.sign_bytes(clip, mime="video/mp4", manifest=manifest, credentials=creds)
            sign_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            state = signing.read_manifest(io.BytesIO(signed), mime="video/mp4", trust_anchors_pem=anchors).state
            read_ms.append((time.perf_counter() - started) * 1000)
        print(f"| {seconds} s 512x512 | {len(clip) / 1e6:.1f} | {statistics.median(sign_ms):.1f} | "
              f"{statistics.median(read_ms):.1f} | {state} |")  # fmt: skip


if __name__ == "__main__":
    main()
