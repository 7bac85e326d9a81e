"""(6) Stream timing (live captures): the recording's media time kept pace with the chunks' arrival at the server."""

from __future__ import annotations

import bisect
from typing import Any

from ..media import MediaError
from ..report import Thresholds, check_result


def chunk_media_ends(path: str, offsets: list[int]) -> list[float | None]:
    """How far the media reached (seconds) in the bytes up to the end of each chunk, from the packets' positions."""
    import av

    ends: list[float | None] = [None] * len(offsets)
    try:
        with av.open(path) as c:
            streams = [*c.streams.video[:1], *c.streams.audio[:1]]
            for packet in c.demux(streams):
                if packet.pts is None or packet.time_base is None or packet.pos is None or packet.pos < 0:
                    continue
                k = bisect.bisect_right(offsets, packet.pos) - 1
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                if k >= 0 and (ends[k] is None or end > ends[k]):  # type: ignore[operator]
                    ends[k] = end
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"cannot read media: {exc}") from exc
    # Media written up to a chunk's end is everything in it and before it.
    best: float | None = None
    for k, end in enumerate(ends):
        if end is not None:
            best = end if best is None else max(best, end)
        ends[k] = best
    return ends


def stream_timing(path: str, chunks: list[dict[str, Any]], th: Thresholds) -> tuple[dict[str, Any], float | None]:
    """(6) Each chunk arrived no sooner than its media could have been filmed, and never much later than the best.

    A chunk cannot arrive before the moment its last frame was filmed: ``arrival - media end`` bounds the
    recording's start (wall clock) from above, and its minimum over the chunks is the estimate. A stream sent faster
    than real time, or held back to fill a gap afterwards, spreads these bounds apart. Returns the check and the
    estimated start (seconds on the chunks' clock), which places the prompts in media time.
    """
    offsets = [int(c["offset"]) for c in chunks]
    ends = chunk_media_ends(path, offsets)
    lags = [float(c["received_s"]) - e for c, e in zip(chunks, ends, strict=True) if e]
    if len(lags) < max(3, len(chunks) // 2):
        # The container gave no byte positions (some MP4 writers): the timeline cannot be checked here.
        return check_result(None, th.max_stream_lag_s, None, reason="no_packet_positions"), None
    start = min(lags)
    spread = max(lags) - start
    media = max(e for e in ends if e)
    wall = float(chunks[-1]["received_s"]) - start
    return (
        check_result(spread, th.max_stream_lag_s, spread <= th.max_stream_lag_s, start_s=round(start, 3),
                     media_s=round(media, 2), wall_s=round(wall, 2), chunks=len(chunks),
                     lags=[round(lag - start, 2) for lag in lags]),
        start,
    )  # fmt: skip
