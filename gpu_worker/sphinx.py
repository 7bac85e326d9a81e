"""pocketsphinx's bundled US English model and its two-pass forced alignment, shared by two users.

The engine aligns a transcript to place lip shapes (gpu_worker.engine.audio); consent verification aligns the
statement a subject had to read (moderation.verification.speech). Both need the same decoder settings and the
same two passes, so they live here once. Plain library: no Django, no torch, and importing it does not load the
engine (gpu_worker/__init__.py is empty).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


def model_files() -> dict[str, str]:
    """Paths of the acoustic model, pronouncing dictionary, word LM and phone LM that ship with pocketsphinx."""
    from pocketsphinx import get_model_path

    base = os.path.join(get_model_path(), "en-us")
    return {
        "hmm": os.path.join(base, "en-us"),
        "dict": os.path.join(base, "cmudict-en-us.dict"),
        "lm": os.path.join(base, "en-us.lm.bin"),
        "allphone": os.path.join(base, "en-us-phone.lm.bin"),
    }


def new_decoder(dictionary: bool = True, **options: Any) -> Any:
    """A fresh pocketsphinx Decoder on the bundled model (quiet, no LM unless given); options add settings.

    dictionary=False leaves the pronouncing dictionary out (phone decoding with the phone LM needs none).
    """
    from pocketsphinx import Decoder

    files = model_files()
    settings: dict[str, Any] = {"hmm": files["hmm"], "lm": None, "loglevel": "FATAL"}
    if dictionary:
        settings["dict"] = files["dict"]
    settings.update(options)
    return Decoder(**settings)


def align_decoder() -> Any:
    """A decoder for forced alignment.

    Wide beams (1e-48): synthetic and sung audio otherwise lose the last words. Audio that does not contain the
    words still finds no path at all, which consent verification relies on (see docs/verification.md).
    """
    return new_decoder(beam=1e-48, wbeam=1e-48, pbeam=1e-48)


@dataclass(frozen=True)
class Segment:
    """One aligned unit (a word or a phone): times in 10 ms frames, acoustic score (higher is better)."""

    name: str
    start: int
    duration: int
    score: int


@dataclass(frozen=True)
class AlignedWord(Segment):
    phones: tuple[Segment, ...] = ()


def forced_alignment(pcm: bytes, words: list[str]) -> list[AlignedWord] | None:
    """Word-and-phone alignment of 16 kHz 16-bit PCM to ``words``, or None when no path fits.

    Two passes on one fresh decoder: the first, with the words as a grammar, finds the word path; set_alignment
    then makes the second produce word and phone timings along it. Fresh per call because pocketsphinx adapts its
    cepstral mean across utterances (results would depend on earlier calls). The result is copied out while the
    decoder lives: pocketsphinx's alignment objects point into it and crash once it is freed.
    """
    d = align_decoder()
    try:
        d.set_align_text(" ".join(words))
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        d.set_alignment()
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        alignment = d.get_alignment()
    except RuntimeError:
        return None
    if alignment is None:
        return None
    return [
        AlignedWord(
            w.name,
            int(w.start),
            int(w.duration),
            int(w.score),
            tuple(Segment(p.name, int(p.start), int(p.duration), int(p.score)) for p in w),
        )
        for w in alignment
    ]
