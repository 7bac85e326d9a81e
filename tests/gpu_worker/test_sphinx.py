"""The shared pocketsphinx helpers: two-pass forced alignment on a real (espeak-ng) consent recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpu_worker import sphinx
from moderation.verification import decode_audio, speech

RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "faces" / "consent_tiger_orange_piano.wav"
SPOKEN = "i agree that my photo may be animated by this service my challenge words are tiger orange piano"


def _pcm(samples: np.ndarray) -> bytes:
    # As consent verification feeds the aligner: leading silence trimmed (the aligner allows only a short one),
    # then its fixed dither (digital silence gives infinite log energies).
    return speech._pcm(speech.trim_silence(samples))


def test_the_words_read_aloud_align_in_order_with_phones_and_increasing_times():
    alignment = sphinx.forced_alignment(_pcm(decode_audio(str(RECORDING))), SPOKEN.split())
    assert alignment is not None
    words = [w for w in alignment if not w.name.startswith("<")]
    # Names carry pronunciation variants: "orange(2)".
    assert [w.name.split("(")[0] for w in words] == SPOKEN.split()
    starts = [w.start for w in words]
    assert starts == sorted(starts) and starts[-1] > starts[0]
    # The second pass gives each word its phones, which the engine turns into lip shapes.
    assert all(w.phones and w.phones[0].start == w.start for w in words)
    assert [p.name for p in next(w for w in words if w.name.startswith("tiger")).phones] == ["T", "AY", "G", "ER"]


def test_audio_without_the_words_finds_no_alignment():
    noise = np.random.default_rng(1).standard_normal(16000 * 3) * 0.05
    assert sphinx.forced_alignment(_pcm(noise), SPOKEN.split()) is None


def test_the_phone_decoder_needs_no_dictionary_and_the_lookup_decoder_knows_the_words():
    lookup = sphinx.new_decoder()
    assert lookup.lookup_word("piano") is not None and lookup.lookup_word("qzxv") is None
    phones = sphinx.new_decoder(dictionary=False, allphone=sphinx.model_files()["allphone"])
    phones.start_utt()
    phones.process_raw(_pcm(decode_audio(str(RECORDING))), full_utt=True)
    phones.end_utt()
    assert len([s for s in phones.seg() if s.word not in ("SIL", "+SPN+", "+NSN+")]) > 20
