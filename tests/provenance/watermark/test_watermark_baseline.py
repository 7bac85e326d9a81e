"""The invisible-watermark baseline stays selectable through the same Embedder."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.watermark import Embedder, testing
from provenance.watermark.baseline import BaselineDecoder, id_bits

pytest.importorskip("imwatermark")


def test_dwtdctsvd_baseline_round_trips_an_unencoded_frame():
    frame = testing.photo("astronaut")[None]
    marked = Embedder("c0ffee42", method="dwtDctSvd").embed_batch(frame)
    assert marked.shape == frame.shape and marked.dtype == np.uint8
    assert np.array_equal(BaselineDecoder("dwtDctSvd").frame_bits(marked[0]), id_bits("c0ffee42"))


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        Embedder("c0ffee42", method="lsb")
