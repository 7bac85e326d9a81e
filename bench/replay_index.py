"""Replay lookup benchmark: the cost of checking one new recording against 0, 10,000 and 100,000 stored ones.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/talkgate .venv/bin/python bench/replay_index.py
        [--sizes 0,10000,100000]

Works in its own database (``<name>_replay_bench``, made and dropped here). Stored fingerprints are synthetic
(random loudness contours, mouth series and audio bits of a 7 s recording); a query is either a new recording
or a near copy of a stored one (noise added, as a re-encode does). Prints, per size: the index lookup plus the
full comparison with the candidates it returns (what a verification pays), and whether the copy was found.
The old way (loading every stored fingerprint and comparing with each) is timed up to 10,000 for comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

AUDIO_FRAMES = 440  # 7 s at the fingerprint's 16 ms hop
MOUTH_SAMPLES = 70  # 7 s at the analysis rate of 10 fps


def synthetic(rng: np.random.Generator) -> dict[str, Any]:
    """A fingerprint shaped like a real one: contour (dB), mouth openings, packed audio bits."""
    from moderation.verification.fingerprint import FINGERPRINT_VERSION, pack_bits

    # Syllables of 100-300 ms at -20..0 dB with short pauses at the floor, as speech's loudness goes.
    contour = np.concatenate([np.full(int(rng.integers(1, 4)), rng.uniform(-20, 0) if rng.random() > 0.2 else -35)
                              for _ in range(64)])[:64]  # fmt: skip
    mouth = np.abs(np.convolve(rng.normal(0, 0.05, MOUTH_SAMPLES + 2), np.ones(3) / 3, mode="valid"))
    return {
        "version": FINGERPRINT_VERSION,
        "audio_bits": pack_bits(rng.random((AUDIO_FRAMES, 16)) > 0.5),
        "audio_contour": [round(float(v), 2) for v in contour],
        "mouth": [round(float(v), 4) for v in mouth],
        "face_embedding": None,
    }


def near_copy(fp: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """The same recording re-encoded: contour and mouth a little noisy, 15 % of the audio bits flipped."""
    from moderation.verification.fingerprint import pack_bits, unpack_bits

    bits = unpack_bits(fp["audio_bits"])
    bits ^= rng.random(bits.shape) < 0.15
    return {
        **fp,
        "audio_bits": pack_bits(bits),
        "audio_contour": [v + float(rng.normal(0, 0.8)) for v in fp["audio_contour"]],
        "mouth": [v + float(rng.normal(0, 0.003)) for v in fp["mouth"]],
    }


def fill(consent: Any, count: int, rng: np.random.Generator, batch: int = 2000) -> list[dict[str, Any]]:
    """Store ``count`` synthetic evidence rows with their index keys; returns a few of them for copy queries."""
    from moderation.models import ConsentEvidence, FingerprintKey
    from moderation.verification import index_keys

    kept: list[dict[str, Any]] = []
    for start in range(0, count, batch):
        rows, keys = [], []
        for _ in range(min(batch, count - start)):
            fp = synthetic(rng)
            ev = ConsentEvidence(id=uuid.uuid4(), consent=consent, recording="", size_bytes=0, sha256="0" * 64,
                                 challenge_phrase="x", decision="rejected", fingerprint=fp)  # fmt: skip
            rows.append(ev)
            keys += [FingerprintKey(evidence_id=ev.id, key=k) for k in index_keys(fp)]
            if len(kept) < 20:
                kept.append(fp)
        ConsentEvidence.objects.bulk_create(rows)
        FingerprintKey.objects.bulk_create(keys, batch_size=10000)
    return kept


def median_ms(fn: Any, repeat: int) -> tuple[Any, float]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="0,10000,100000")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--full-scan-up-to", type=int, default=10000)
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    import django
    from django.conf import settings

    if not settings.IS_POSTGRES:
        sys.exit("set DATABASE_URL to a PostgreSQL server (this benchmark measures PostgreSQL)")
    from django.test.utils import setup_databases, teardown_databases

    settings.DATABASES["default"]["TEST"] = {"NAME": f"{settings.DATABASES['default']['NAME']}_replay_bench"}
    django.setup()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        run(sizes, args.repeat, args.full_scan_up_to)
    finally:
        teardown_databases(old, verbosity=0)


def run(sizes: list[int], repeat: int, full_scan_up_to: int) -> None:
    from django.db import connection

    from moderation.models import ConsentEvidence
    from moderation.services import _replay_lookup
    from moderation.verification import replay_scores
    from tests.conftest import make_consent, make_partner

    rng = np.random.default_rng(7)
    consent = make_consent(make_partner("Bench Partner"), status="verifying")
    stored, copies = 0, []
    rows = []
    for size in sizes:
        t = time.perf_counter()
        copies += fill(consent, size - stored, rng)
        stored = size
        with connection.cursor() as cur:
            cur.execute("ANALYZE moderation_fingerprintkey; ANALYZE moderation_consentevidence")
        fill_s = time.perf_counter() - t
        lookup = _replay_lookup(uuid.uuid4())
        fresh = synthetic(np.random.default_rng(99))

        def check(fp: dict[str, Any], lookup: Any = lookup) -> tuple[int, float]:
            candidates = lookup(fp)
            return len(candidates), replay_scores(fp, candidates)[0]

        (n_new, _), new_ms = median_ms(lambda fresh=fresh: check(fresh), repeat)
        found = 0
        copy_ms = []
        for fp in copies[:10]:
            (_, audio_sim), ms = median_ms(lambda fp=fp: check(near_copy(fp, rng)), 3)
            found += audio_sim >= 0.8
            copy_ms.append(ms)
        full = "-"
        if size <= full_scan_up_to:
            stored_fps = ConsentEvidence.objects.values_list("fingerprint", flat=True)
            _, full_ms = median_ms(lambda fresh=fresh, qs=stored_fps: replay_scores(fresh, list(qs)), 3)
            full = f"{full_ms:.1f}"
        rows.append((size, f"{new_ms:.1f}", n_new, f"{statistics.median(copy_ms) if copy_ms else 0:.1f}",
                     f"{found}/{min(10, len(copies))}", full, f"{fill_s:.0f}"))  # fmt: skip

    head = ("stored", "lookup+compare ms (new)", "candidates", "lookup+compare ms (copy)", "copies found",
            "full scan ms (old way)", "fill s")  # fmt: skip
    print(" | ".join(head))
    for r in rows:
        print(" | ".join(str(v) for v in r))
    print(f"\nPostgreSQL, median of {repeat} lookups; copies: 10 stored recordings re-noised, 3 lookups each.")


if __name__ == "__main__":
    main()
