"""Watermark payload: a random 32-bit id, a CRC-16 check and a rate-1/2 convolutional code (soft Viterbi)."""

from __future__ import annotations

import secrets

import numpy as np

ID_BITS = 32
CRC_BITS = 16
MESSAGE_BITS = ID_BITS + CRC_BITS
# Constraint length 7, generators 171/133 (octal): the classic code, ~5 dB soft-decision gain over no coding.
_K = 7
_GENERATORS = (0o171, 0o133)
_TAIL = _K - 1
CODED_BITS = 2 * (MESSAGE_BITS + _TAIL)


def new_watermark_id() -> str:
    """Return a fresh random watermark id: 8 lowercase hex characters (32 random bits, no meaning)."""
    return secrets.token_hex(ID_BITS // 8)


def _id_bytes(wm_id: str) -> bytes:
    try:
        raw = bytes.fromhex(wm_id)
    except ValueError as exc:
        raise ValueError(f"watermark id must be {ID_BITS // 4} hex characters, got {wm_id!r}") from exc
    if len(raw) * 8 != ID_BITS:
        raise ValueError(f"watermark id must be {ID_BITS // 4} hex characters, got {wm_id!r}")
    return raw


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of data (poly 0x1021, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _to_bits(value: int, n: int) -> list[int]:
    return [(value >> (n - 1 - i)) & 1 for i in range(n)]


def message_bits(wm_id: str) -> np.ndarray:
    """The 48 message bits of an id: 32 id bits followed by their CRC-16."""
    raw = _id_bytes(wm_id)
    value = int.from_bytes(raw, "big")
    return np.array(_to_bits(value, ID_BITS) + _to_bits(crc16(raw), CRC_BITS), dtype=np.uint8)


def conv_encode(bits: np.ndarray) -> np.ndarray:
    """Encode bits with the K=7 rate-1/2 code, flushing the register with K-1 zero tail bits."""
    state = 0
    out: list[int] = []
    for b in [*bits.tolist(), *([0] * _TAIL)]:
        state = ((state << 1) | int(b)) & ((1 << _K) - 1)
        out.extend(bin(state & g).count("1") & 1 for g in _GENERATORS)
    return np.array(out, dtype=np.uint8)


def encode_id(wm_id: str) -> np.ndarray:
    """Coded bits (0/1) that the embedder writes for wm_id."""
    return conv_encode(message_bits(wm_id))


def _trellis() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_states = 1 << _TAIL
    prev = np.zeros((n_states, 2), dtype=np.int64)  # the two predecessor states of each state
    outs = np.zeros((n_states, 2, 2), dtype=np.float64)  # +-1 output symbols on each incoming branch
    for s in range(n_states):
        bit = s & 1  # the newest input bit is the low bit of the new state
        for j, high in enumerate((0, 1)):
            p = (s >> 1) | (high << (_TAIL - 1))
            reg = (p << 1) | bit
            prev[s, j] = p
            outs[s, j] = [1.0 - 2.0 * (bin(reg & g).count("1") & 1) for g in _GENERATORS]
    return prev, outs, np.arange(n_states) & 1


_PREV, _OUTS, _STATE_BIT = _trellis()


def viterbi_decode(soft: np.ndarray) -> np.ndarray:
    """Maximum-likelihood message bits from soft values (positive means coded bit 0), tail removed."""
    soft = np.asarray(soft, dtype=np.float64).reshape(-1, 2)
    n_states = _PREV.shape[0]
    metric = np.full(n_states, -np.inf)
    metric[0] = 0.0
    choices = np.zeros((soft.shape[0], n_states), dtype=np.int8)
    for t, sym in enumerate(soft):
        cand = metric[_PREV] + _OUTS @ sym  # (states, 2)
        choice = np.argmax(cand, axis=1)
        choices[t] = choice
        metric = cand[np.arange(n_states), choice]
    state = 0  # the tail drives the encoder back to zero
    bits = np.zeros(soft.shape[0], dtype=np.uint8)
    for t in range(soft.shape[0] - 1, -1, -1):
        bits[t] = _STATE_BIT[state]
        state = _PREV[state, choices[t, state]]
    return bits[: soft.shape[0] - _TAIL]


def decode_message(bits: np.ndarray) -> str | None:
    """The id carried by 48 message bits, or None when the CRC does not match."""
    value = int("".join(str(int(b)) for b in bits[:ID_BITS]), 2)
    raw = value.to_bytes(ID_BITS // 8, "big")
    crc = int("".join(str(int(b)) for b in bits[ID_BITS:MESSAGE_BITS]), 2)
    return raw.hex() if crc16(raw) == crc else None
