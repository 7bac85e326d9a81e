"""The payload: random ids, CRC check, and the convolutional code that corrects bit errors."""

from __future__ import annotations

import itertools
import re

import numpy as np

from provenance.watermark import new_watermark_id
from provenance.watermark.payload import (
    CODED_BITS,
    MESSAGE_BITS,
    conv_encode,
    crc_list_decode,
    decode_message,
    encode_id,
    list_viterbi_decode,
    message_bits,
    viterbi_decode,
)


def _soft(bits: np.ndarray) -> np.ndarray:
    return 1.0 - 2.0 * bits.astype(np.float64)


def test_new_ids_are_random_8_hex_characters():
    ids = {new_watermark_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[0-9a-f]{8}", i) for i in ids)


def test_clean_codeword_decodes_to_its_id():
    wm_id = "3fa91c07"
    coded = encode_id(wm_id)
    assert coded.shape == (CODED_BITS,)
    assert decode_message(viterbi_decode(_soft(coded))) == wm_id


def test_code_corrects_scattered_hard_bit_errors():
    rng = np.random.default_rng(7)
    for _ in range(20):
        wm_id = f"{int(rng.integers(0, 2**32)):08x}"  # seeded: the test must not depend on chance
        soft = _soft(encode_id(wm_id))
        # Six flipped coded bits spread over the word (about 6 %): within the K=7 code's free distance of 10.
        flips = np.arange(0, CODED_BITS, CODED_BITS // 6)[:6] + rng.integers(0, 4, 6)
        soft[flips] *= -1
        assert decode_message(viterbi_decode(soft)) == wm_id


def test_code_recovers_ids_from_noisy_soft_values():
    rng = np.random.default_rng(11)
    raw_errors = []
    for _ in range(30):
        # Ids from the seeded generator, not new_watermark_id(): a random id made this test fail now and then.
        wm_id = f"{int(rng.integers(0, 2**32)):08x}"
        soft = _soft(encode_id(wm_id)) + rng.normal(0, 0.7, CODED_BITS)
        raw_errors.append(np.mean((soft < 0) != encode_id(wm_id).astype(bool)))
        assert decode_message(viterbi_decode(soft)) == wm_id
    assert np.mean(raw_errors) > 0.05  # the channel really did flip bits that the code then corrected


def test_crc_rejects_a_corrupted_message():
    bits = message_bits("00c0ffee")
    assert decode_message(bits) == "00c0ffee"
    for i in range(MESSAGE_BITS):
        corrupted = bits.copy()
        corrupted[i] ^= 1
        assert decode_message(corrupted) is None


def test_random_soft_values_almost_never_pass_the_crc():
    rng = np.random.default_rng(3)
    passed = sum(decode_message(viterbi_decode(rng.normal(0, 1, CODED_BITS))) is not None for _ in range(2000))
    assert passed <= 2  # expected 2000 / 65536 ~= 0.03


def test_different_ids_give_distinct_codewords():
    a, b = encode_id("00000001"), encode_id("00000002")
    assert np.sum(a != b) >= 10  # the code's free distance


def _path_metric(bits: np.ndarray, soft: np.ndarray) -> float:
    return float(np.dot(_soft(conv_encode(bits)), soft))


def test_list_viterbi_returns_distinct_paths_best_first():
    rng = np.random.default_rng(5)
    for _ in range(20):
        soft = rng.normal(0, 1, CODED_BITS)
        paths = list_viterbi_decode(soft, 16)
        assert len(paths) == 16
        assert len({p.tobytes() for p in paths}) == 16
        assert np.array_equal(paths[0], viterbi_decode(soft))  # the head of the list is the ML path
        metrics = [_path_metric(p, soft) for p in paths]
        assert all(a >= b - 1e-9 for a, b in itertools.pairwise(metrics))
        # No message outside the list beats its last entry: flipping one bit of the best path gives a path whose
        # metric is at most the 16th best one's, unless that path is on the list.
        listed = {p.tobytes() for p in paths}
        for i in range(MESSAGE_BITS):
            other = paths[0].copy()
            other[i] ^= 1
            if other.tobytes() not in listed:
                assert _path_metric(other, soft) <= metrics[-1] + 1e-9


def test_crc_aided_list_decoding_recovers_ids_plain_viterbi_misses():
    rng = np.random.default_rng(13)
    plain = listed = wrong = 0
    for _ in range(150):
        wm_id = f"{int(rng.integers(0, 2**32)):08x}"
        soft = _soft(encode_id(wm_id)) * 0.9 + rng.normal(0, 1, CODED_BITS)  # near the code's limit
        plain += decode_message(viterbi_decode(soft)) == wm_id
        got = decode_message(crc_list_decode(soft, 16))
        listed += got == wm_id
        wrong += got not in (None, wm_id)
    assert listed >= plain + 30  # measured: 48 vs 96 of 150
    assert wrong == 0


def test_random_soft_values_rarely_pass_the_crc_on_a_list_of_16():
    rng = np.random.default_rng(4)
    passed = sum(decode_message(crc_list_decode(rng.normal(0, 1, CODED_BITS), 16)) is not None for _ in range(1000))
    assert passed <= 3  # expected 1000 * 16 / 65536 ~= 0.24
