"""Speech with pocketsphinx: transcripts, blocked-phrase matching, challenge phrases and spoken-text checks."""

from __future__ import annotations

import os
import random
import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpu_worker.sphinx import forced_alignment, model_files, new_decoder

from .media import SAMPLE_RATE, decode_audio

# Common two- and three-syllable nouns, all in pocketsphinx's dictionary: long words give the
# aligner many frames to score, and picture words are easy for a subject to read aloud.
_CHALLENGE_TEXT = """amber anchor apple autumn banana basket bicycle blanket butter camera candle carpet castle cherry
    coconut copper cowboy desert diamond dolphin dragon eagle elephant falcon forest garden giraffe guitar
    hammer harbor honey island jacket jungle kitten ladder lemon lizard marble meadow melon mirror monkey
    mountain napkin ocean orange oyster painter panda parrot pencil pepper piano pillow planet pocket potato
    pumpkin purple rabbit rainbow river rocket saddle salmon silver spider sugar summer tiger tomato tractor
    turtle umbrella velvet violin volcano wagon walrus window winter yellow zebra"""
CHALLENGE_WORDS: tuple[str, ...] = tuple(_CHALLENGE_TEXT.split())

_WORD = re.compile(r"[a-z0-9']+")


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text`` without punctuation."""
    return _WORD.findall(text.lower())


def new_challenge_phrase(rng: random.Random | None = None, n_words: int = 3) -> str:
    """A fresh challenge: ``n_words`` distinct words from CHALLENGE_WORDS (system randomness by default)."""
    rng = rng or random.SystemRandom()
    return " ".join(rng.sample(CHALLENGE_WORDS, n_words))


def find_phrases(text_or_path: str, phrases: list[str]) -> list[str]:
    """The phrases that occur in the text (or in the transcript of the media file) as whole words."""
    text = transcribe(text_or_path) if os.path.isfile(text_or_path) else text_or_path
    padded = " " + " ".join(words_of(text)) + " "
    hits = []
    for phrase in phrases:
        w = words_of(phrase)
        if w and " " + " ".join(w) + " " in padded:
            hits.append(phrase)
    return hits


def unknown_words(text: str) -> list[str]:
    """Words of ``text`` missing from pocketsphinx's dictionary (check a statement before issuing it)."""
    return _get_sphinx().unknown_words(words_of(text))


class _Sphinx:
    """pocketsphinx's bundled US English model; a fresh decoder per utterance (it adapts across them)."""

    def __init__(self) -> None:
        self._lookup = new_decoder()
        self.lock = threading.Lock()

    def unknown_words(self, words: list[str]) -> list[str]:
        return [w for w in words if self._lookup.lookup_word(w) is None]

    def recognise(self, pcm: bytes) -> str:
        d = new_decoder(lm=model_files()["lm"])
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr if hyp is not None else ""

    def align(self, pcm: bytes, words: list[str]) -> list[tuple[str, int, int, int]] | None:
        """Forced alignment: (word, start frame, frames, acoustic score) or None when no path fits."""
        # With the aligner's beams, audio that does not contain the words finds no path at all, which is the
        # clearest signal the aligner gives (see docs/verification.md).
        alignment = forced_alignment(pcm, words)
        if alignment is None:
            return None
        return [(w.name, w.start, w.duration, w.score) for w in alignment]


_sphinx: _Sphinx | None = None
_sphinx_lock = threading.Lock()


def _get_sphinx() -> _Sphinx:
    global _sphinx
    with _sphinx_lock:
        if _sphinx is None:
            _sphinx = _Sphinx()
        return _sphinx


def _pcm(samples: np.ndarray) -> bytes:
    # Digital silence (exact zeros) gives log-energy features of minus infinity and derails the
    # aligner; a fixed, inaudible dither (about -80 dBFS) keeps results identical run to run.
    noise = np.random.default_rng(0).standard_normal(len(samples)) * 1e-4
    return (np.clip(samples + noise, -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def transcribe(audio_or_video_path: str | None = None, *, samples: np.ndarray | None = None) -> str:
    """Lower-case transcript of the file's (or the given 16 kHz samples') speech with pocketsphinx."""
    if samples is None:
        if audio_or_video_path is None:
            raise ValueError("give a path or samples")
        samples = decode_audio(audio_or_video_path)
    return _get_sphinx().recognise(_pcm(samples)).strip()


@dataclass
class SpokenText:
    """How well the statement and the challenge were found in the audio."""

    statement_score: float | None
    challenge_score: float | None
    statement_aligned: bool
    challenge_aligned: bool
    detail: dict[str, Any]


def _score_per_frame(entries: list[tuple[str, int, int, int]]) -> float:
    # pocketsphinx normalises acoustic scores against the best senone of each frame, so a word's
    # score per frame is a log-likelihood ratio against an unconstrained "anything" model.
    speech = [e for e in entries if not e[0].startswith("<")]
    frames = sum(e[2] for e in speech)
    return sum(e[3] for e in speech) / max(frames, 1) if speech else float("-inf")


def _candidate_cuts(samples: np.ndarray, max_cuts: int) -> list[int]:
    """Sample indices at the quietest dips of the second half, latest first (candidate statement ends)."""
    hop = SAMPLE_RATE // 100
    n = len(samples) // hop
    if n < 20:
        return []
    energy = 10 * np.log10(np.mean(samples[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-10)
    smooth = np.convolve(energy, np.ones(5) / 5, mode="same")
    # Read speech rarely pauses long between words (espeak-ng: 50-80 ms), so look for energy dips,
    # not silences. The challenge is short, so the statement ends in the second half.
    dips = [i for i in range(n // 2, n - 5) if smooth[i] <= smooth[i - 4 : i + 5].min()]
    dips.sort(key=lambda i: smooth[i])
    chosen: list[int] = []
    for i in dips:
        # One cut per pause: a flat silence is a run of equal minima.
        if all(abs(i - j) >= 15 for j in chosen):
            chosen.append(i)
        if len(chosen) == max_cuts:
            break
    return sorted((i * hop for i in chosen), reverse=True)


def loud_bounds(samples: np.ndarray, margin_s: float = 0.05, floor_db: float = 35.0) -> tuple[int, int]:
    """The sample range without the quiet lead-in and tail (more than ``floor_db`` below the loud frames)."""
    hop = SAMPLE_RATE // 100
    n = len(samples) // hop
    if n < 10:
        return 0, len(samples)
    energy = 10 * np.log10(np.mean(samples[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1) + 1e-10)
    loud = np.flatnonzero(energy > np.percentile(energy, 95) - floor_db)
    if len(loud) == 0:
        return 0, len(samples)
    margin = int(margin_s * 100)
    start, end = max(0, loud[0] - margin), min(n, loud[-1] + 1 + margin)
    return start * hop, end * hop


def trim_silence(samples: np.ndarray, margin_s: float = 0.05, floor_db: float = 35.0) -> np.ndarray:
    """``samples`` without the quiet lead-in and tail (more than ``floor_db`` below the loud frames)."""
    start, end = loud_bounds(samples, margin_s, floor_db)
    return samples[start:end]


def _word_times(entries: list[tuple[str, int, int, int]], offset_s: float) -> list[list[Any]]:
    """[word, start s, end s] of each aligned word (10 ms frames), in the untrimmed audio's time."""
    return [[e[0].split("(")[0], round(offset_s + e[1] / 100, 2), round(offset_s + (e[1] + e[2]) / 100, 2)]
            for e in entries if not e[0].startswith("<")]  # fmt: skip


def check_spoken(samples: np.ndarray, statement: str, challenge: str, max_cuts: int = 10) -> SpokenText:
    """Whether ``statement`` then ``challenge`` were read aloud, by forced alignment of the expected words."""
    sphinx = _get_sphinx()
    st_words, ch_words = words_of(statement), words_of(challenge)
    unknown = sphinx.unknown_words(st_words + ch_words)
    detail: dict[str, Any] = {"unknown_words": unknown}
    if unknown:
        # The service must only issue texts made of dictionary words; say so instead of guessing.
        return SpokenText(None, None, False, False, detail)
    # The aligner's optional leading silence is short; a subject who waits a second before reading
    # would otherwise find no path at all.
    start, end = loud_bounds(samples)
    samples, offset_s = samples[start:end], start / SAMPLE_RATE
    with sphinx.lock:
        full = sphinx.align(_pcm(samples), st_words + ch_words)
    if full is not None:
        speech = [e for e in full if not e[0].startswith("<")]
        # pocketsphinx may return a path that stops early (the last words missing) instead of failing;
        # only the words it really placed count. Names carry pronunciation variants: "orange(2)".
        placed = [e[0].split("(")[0] for e in speech]
        st_part, ch_part = speech[: len(st_words)], speech[len(st_words) :]
        if placed == st_words + ch_words:
            detail["alignment"] = "full"
            # The challenge is judged by its worst word: with one word swapped the aligner still often
            # places all three, and only the swapped word's score drops (see docs/verification.md).
            word_scores = [_score_per_frame([e]) for e in ch_part]
            detail["challenge_word_scores"] = [round(v, 1) for v in word_scores]
            detail["word_times"] = _word_times(speech, offset_s)
            return SpokenText(_score_per_frame(st_part), min(word_scores), True, True, detail)
        if placed[: len(st_words)] == st_words:
            detail.update(alignment="statement_only", words_placed=len(placed),
                          word_times=_word_times(st_part, offset_s))  # fmt: skip
            return SpokenText(_score_per_frame(st_part), None, True, False, detail)
    # The whole text does not fit: find out whether the statement alone fits the audio up to a pause
    # (the subject said the statement, then something other than the challenge).
    tries = 0
    for cut in _candidate_cuts(samples, max_cuts):
        tries += 1
        with sphinx.lock:
            part = sphinx.align(_pcm(samples[:cut]), st_words)
        if part is not None:
            detail.update(alignment="statement_only", statement_end_s=round(offset_s + cut / SAMPLE_RATE, 2),
                          cuts_tried=tries, word_times=_word_times(part, offset_s))  # fmt: skip
            return SpokenText(_score_per_frame(part), None, True, False, detail)
    detail.update(alignment="none", cuts_tried=tries)
    return SpokenText(None, None, False, False, detail)
