"""Verification benchmark: verifying a 20 s consent recording and screening a job photo + audio, split by step.

    .venv/bin/python bench/screening.py [--repeat 3] [--calibrate]

Builds the consent recording first (not timed): the espeak-ng consent fixture read three times (about 21 s)
over obama.jpg, the engine's unmarked frames at 256 px standing in for a camera recording (as in the tests), then
verifies it as the cpu worker does, the generated-media check (watermark + C2PA, beside the rest) included.
Screening a job: obama.jpg and the 10.8 s Harvard sentences recording (tests/fixtures). Each step is timed
``--repeat`` times and the median printed, on this CPU.
``--calibrate`` also prints the score distributions that docs/verification.md uses to set the thresholds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from moderation.verification import FaceModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

FACES = ROOT / "tests" / "fixtures" / "faces"
ENGINE = ROOT / "tests" / "fixtures" / "engine"
STATEMENT = "I agree that my photo may be animated by this service. My challenge words are"
CHALLENGE = "tiger orange piano"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    """The last result and the median wall time of ``repeat`` calls."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return result, statistics.median(times)


def build_consent_recording(out: Path) -> tuple[str, str]:
    """A ~21 s talking-head recording and the statement it reads (the fixture text three times over)."""
    import soundfile as sf

    from moderation.verification import decode_audio
    from tests.moderation.verification.conftest import camera_stand_in

    one = decode_audio(str(FACES / "consent_tiger_orange_piano.wav"))
    wav = out.with_suffix(".wav")
    sf.write(str(wav), np.concatenate([one, one, one]), 16000, subtype="PCM_16")
    camera_stand_in(FACES / "obama.jpg", wav, out)
    # Read three times, so everything before the last challenge is the statement.
    statement = f"{STATEMENT} {CHALLENGE}. {STATEMENT} {CHALLENGE}. {STATEMENT}"
    return statement, CHALLENGE


def row(rows: list[tuple[str, str, str]], step: str, seconds: float, note: str = "") -> None:
    rows.append((step, f"{seconds:8.3f}", note))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--calibrate", action="store_true")
    args = ap.parse_args()

    import django

    django.setup()
    from moderation.verification import (
        decode_audio,
        find_phrases,
        get_face_model,
        load_image,
        match_gallery,
        transcribe,
        verify_recording,
    )

    rows: list[tuple[str, str, str]] = []
    t = time.perf_counter()
    model = get_face_model()
    row(rows, "load face models (once per process)", time.perf_counter() - t)

    refs = [model.single_face_embedding(load_image(str(FACES / "obama2.jpg")))]
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "consent20.mp4"
        t = time.perf_counter()
        statement, challenge = build_consent_recording(video)
        build_s = time.perf_counter() - t
        from provenance.checks import generated_media_reading

        report, total = timed(
            lambda: verify_recording(
                str(video), refs, statement, challenge, generated_media_check=generated_media_reading
            ),
            args.repeat,
        )
        dur = report.detail["duration_s"]
        note = f"{dur:.1f} s recording, decision={report.decision}"
        rows.append(("-- verify consent recording --", "", f"(recording built in {build_s:.1f} s, not timed)"))
        for step, label in [
            ("decode", "decode video (10 fps) + audio"),
            ("faces", "face detect / landmarks / embeddings"),
            ("face_match_liveness", "face match + liveness scores"),
            ("speech", "statement + challenge alignment"),
            ("replay", "fingerprint + replay compare"),
            ("generated_media", "generated-media check (beside the steps above)"),
        ]:
            row(rows, "  " + label, report.timings[step])
        row(rows, f"  total (median of {args.repeat}; steps: last run)", total, note)

    # Job screening: photo -> one face -> consent match -> gallery; audio -> transcript -> blocked phrases.
    photo_path, audio_path = FACES / "obama.jpg", ENGINE / "harvard_16k.wav"
    rng = np.random.default_rng(0)
    gallery = {f"person-{i}": [e / np.linalg.norm(e) * 0.6] for i, e in enumerate(rng.standard_normal((1000, 128)))}
    gallery["person-b"] = [model.single_face_embedding(load_image(str(FACES / "biden.jpg")))]
    rows.append(("-- screen a job --", "", "obama.jpg (910x1137) + harvard_16k.wav (10.8 s)"))
    image, s = timed(lambda: load_image(str(photo_path)), args.repeat)
    row(rows, "  decode photo", s)
    emb, s = timed(lambda: model.single_face_embedding(image), args.repeat)
    row(rows, "  one usable face -> embedding", s)
    dist, s = timed(lambda: model.best_distance(emb, refs), args.repeat)
    row(rows, "  compare with consent references", s, f"distance {dist:.3f}")
    hits, s = timed(lambda: match_gallery(emb, gallery), args.repeat)
    row(rows, "  protected-person gallery (1001 people)", s, f"hits {hits}")
    samples, s = timed(lambda: decode_audio(str(audio_path)), args.repeat)
    row(rows, "  decode audio to 16 kHz mono", s)
    text, s = timed(lambda: transcribe(samples=samples), args.repeat)
    row(rows, "  pocketsphinx transcript", s, f"{len(text.split())} words")
    _, s = timed(lambda: find_phrases(text, ["transfer the money", "kill", "bomb"]), args.repeat)
    row(rows, "  blocked-phrase match", s)

    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'seconds':>8}  note")
    for step, sec, note in rows:
        print(f"{step:<{width}}  {sec:>8}  {note}")
    print(f"\nCPU: {os.cpu_count()} cores visible; threads shared with whatever else runs on this machine.")

    if args.calibrate:
        calibrate(model)


def calibrate(model: FaceModel) -> None:
    """Score distributions behind the default thresholds (see docs/verification.md)."""
    from moderation.verification import CHALLENGE_WORDS, check_spoken, decode_audio, load_image, new_challenge_phrase

    names = ["obama.jpg", "obama2.jpg", "biden.jpg"]
    embs = {n: model.single_face_embedding(load_image(str(FACES / n))) for n in names}
    for n in ["grace_hopper.jpg", "astronaut.jpg"]:
        embs[n] = model.faces(load_image(str(ENGINE / n)))[0].embedding
    print("\nface distances (dlib scale)")
    keys = list(embs)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            print(f"  {a:>16} {b:>16}  {model.distance(embs[a], embs[b]):.3f}")
    print("\nchallenge decoys: the tiger/orange/piano recording checked against 40 other random challenges")
    audio = decode_audio(str(FACES / "consent_tiger_orange_piano.wav"))
    rng = random.Random(11)
    outcomes: dict[str, int] = {}
    scores = []
    for _ in range(40):
        phrase = new_challenge_phrase(rng)
        if set(phrase.split()) & set(CHALLENGE.split()):
            continue
        sp = check_spoken(audio, STATEMENT, phrase)
        kind = sp.detail.get("alignment", "?")
        outcomes[kind] = outcomes.get(kind, 0) + 1
        if sp.challenge_aligned and sp.challenge_score is not None and np.isfinite(sp.challenge_score):
            scores.append(sp.challenge_score)
    print(f"  outcomes {outcomes}; finite challenge scores of full alignments: {[round(s, 1) for s in scores]}")
    print("\nchallenge with one word swapped (12 random words at each of the 3 positions)")
    swapped: list[tuple[str, float | None, str]] = []
    for pos in range(3):
        for w in rng.sample([w for w in CHALLENGE_WORDS if w not in CHALLENGE.split()], 12):
            words = CHALLENGE.split()
            words[pos] = w
            sp = check_spoken(audio, STATEMENT, " ".join(words))
            swapped.append((" ".join(words), sp.challenge_score, sp.detail.get("alignment", "?")))
    placed = sorted((round(s, 1), p) for p, s, kind in swapped if kind == "full" and s is not None)
    print(f"  not placed: {sum(kind != 'full' for _, _, kind in swapped)} of {len(swapped)}")
    print(f"  placed, worst-word score: {placed}")
    right = check_spoken(audio, STATEMENT, CHALLENGE)
    print(
        f"  the true challenge: statement {right.statement_score:.1f}, worst challenge word"
        f" {right.challenge_score:.1f}, words {right.detail.get('challenge_word_scores')}"
    )


if __name__ == "__main__":
    main()
