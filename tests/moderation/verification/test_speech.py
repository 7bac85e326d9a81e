"""Speech checks on espeak-ng recordings: challenge phrases, spoken-text alignment, transcripts and blocked phrases."""

from __future__ import annotations

import random

import pytest

from moderation.verification import (
    CHALLENGE_WORDS,
    Thresholds,
    check_spoken,
    decode_audio,
    find_phrases,
    new_challenge_phrase,
)
from moderation.verification.report import band
from moderation.verification.speech import _get_sphinx

from .conftest import CHALLENGE, ENGINE, FACES, OTHER_CHALLENGE, STATEMENT


def test_challenge_phrases_are_distinct_dictionary_words_and_vary():
    rng = random.Random(7)
    phrases = [new_challenge_phrase(rng) for _ in range(50)]
    for p in phrases:
        words = p.split()
        assert len(words) == 3 and len(set(words)) == 3 and set(words) <= set(CHALLENGE_WORDS)
    assert len(set(phrases)) > 45
    assert _get_sphinx().unknown_words(list(CHALLENGE_WORDS)) == []
    # Without an rng the system source is used: fresh phrases every time.
    assert len({new_challenge_phrase() for _ in range(5)}) > 1


def test_the_statement_and_challenge_read_aloud_align():
    spoken = check_spoken(decode_audio(str(FACES / "consent_tiger_orange_piano.wav")), STATEMENT, CHALLENGE)
    assert spoken.statement_aligned and spoken.challenge_aligned
    th = Thresholds()
    assert spoken.statement_score >= th.statement_pass and spoken.challenge_score >= th.challenge_pass


def test_a_challenge_with_one_word_swapped_is_almost_never_accepted():
    audio = decode_audio(str(FACES / "consent_tiger_orange_piano.wav"))
    th = Thresholds()
    rng = random.Random(3)
    outcomes = []
    for pos in range(3):
        for word in rng.sample([w for w in CHALLENGE_WORDS if w not in CHALLENGE.split()], 3):
            words = CHALLENGE.split()
            words[pos] = word
            spoken = check_spoken(audio, STATEMENT, " ".join(words))
            ok = (
                band(spoken.challenge_score, th.challenge_pass, th.challenge_fail)
                if spoken.challenge_aligned
                else False
            )
            outcomes.append(ok)
    # Measured on 36 swaps (docs/verification.md): 1 accepted, 2 to review, the rest rejected.
    assert outcomes.count(True) <= 1 and outcomes.count(False) >= 7, outcomes


def test_a_different_challenge_read_aloud_leaves_only_the_statement_aligned():
    spoken = check_spoken(decode_audio(str(FACES / "consent_lemon_rocket_garden.wav")), STATEMENT, CHALLENGE)
    assert spoken.statement_aligned and not spoken.challenge_aligned
    assert spoken.detail["alignment"] == "statement_only"

    right = check_spoken(decode_audio(str(FACES / "consent_lemon_rocket_garden.wav")), STATEMENT, OTHER_CHALLENGE)
    assert right.statement_aligned and right.challenge_aligned


def test_other_speech_aligns_neither_statement_nor_challenge():
    spoken = check_spoken(decode_audio(str(ENGINE / "harvard_16k.wav")), STATEMENT, CHALLENGE)
    assert not spoken.statement_aligned and not spoken.challenge_aligned


def test_a_statement_with_words_outside_the_dictionary_is_reported_not_guessed():
    from moderation.verification import unknown_words

    assert unknown_words(STATEMENT + " " + CHALLENGE) == []
    assert unknown_words("I, Zxqvy, agree.") == ["zxqvy"]
    spoken = check_spoken(decode_audio(str(FACES / "consent_tiger_orange_piano.wav")), STATEMENT + " zxqvy", CHALLENGE)
    assert spoken.detail["unknown_words"] == ["zxqvy"]
    assert spoken.statement_score is None


@pytest.fixture(scope="module")
def blocked_transcript() -> str:
    from moderation.verification import transcribe

    return transcribe(str(FACES / "blocked_transfer_money.wav"))


def test_transcribe_and_find_phrases_catch_a_blocked_phrase_in_espeak_speech(blocked_transcript):
    policy = ["transfer the money", "wire the funds", "kill"]
    assert "transfer the money" in blocked_transcript
    assert find_phrases(blocked_transcript, policy) == ["transfer the money"]
    # Given a path, find_phrases transcribes the file itself.
    assert find_phrases(str(FACES / "blocked_transfer_money.wav"), policy) == ["transfer the money"]


def test_speech_without_a_blocked_phrase_has_no_hit():
    assert find_phrases(str(FACES / "consent_tiger_orange_piano.wav"), ["transfer the money", "wire the funds"]) == []


def test_find_phrases_ignores_case_and_punctuation_but_not_word_boundaries():
    text = "Well -- please TRANSFER the money, now! Skills matter."
    assert find_phrases(text, ["transfer the money", "kill", "Now"]) == ["transfer the money", "Now"]
