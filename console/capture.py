"""A live capture's timeline for reviewers: prompts revealed against when they were said or done, the head's pose
as a small server-rendered SVG plot, the chunks' arrival times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from moderation.models import CaptureSession

WIDTH, HEIGHT, PAD = 560, 160, 28
_RANGE_DEG = 45.0  # the plot's vertical range, +-


def _x(t: float, span: float) -> float:
    return round(PAD + (WIDTH - 2 * PAD) * max(0.0, t) / max(span, 1e-6), 1)


def _y(deg: float) -> float:
    clipped = max(-_RANGE_DEG, min(_RANGE_DEG, deg))
    return round(HEIGHT / 2 - (HEIGHT / 2 - 12) * clipped / _RANGE_DEG, 1)


def capture_timeline(session: CaptureSession, report: dict[str, Any]) -> dict[str, Any]:
    """Everything the consent page draws about a live capture (times in seconds of media)."""
    checks = report.get("checks", {})
    detail = report.get("detail", {})
    start = (checks.get("stream_timing") or {}).get("start_s") or 0.0
    epoch = session.first_chunk_at
    moves = {p["kind"]: p for p in (checks.get("movement") or {}).get("prompts", [])}
    said = (checks.get("spoken_in_time") or {}).get("word_times") or []
    prompts = []
    for p in session.prompts:
        if not p.get("revealed_at") or epoch is None:
            continue
        shown = (datetime.fromisoformat(p["revealed_at"]) - epoch).total_seconds() - start
        due = (datetime.fromisoformat(p["deadline_at"]) - epoch).total_seconds() - start
        if p["kind"] == "statement":
            done = f"{said[0][1]:.1f} to {said[-1][2]:.1f} s" if said else "not found in its window"
            passed = (checks.get("spoken_in_time") or {}).get("passed")
        else:
            m = moves.get(p["kind"], {})
            done = f"{m['turn_deg']:+.0f}° at {m['peak_s']:.1f} s" if m.get("turn_deg") is not None else "no turn"
            passed = m.get("passed")
        prompts.append({"kind": p["kind"], "text": p["text"], "shown": round(shown, 1), "due": round(due, 1),
                        "done": done, "passed": passed})  # fmt: skip
    chunks = [{"seq": c.seq, "at": round((c.received_at - epoch).total_seconds(), 2), "size": c.size}
              for c in session.chunks.all() if c.attempt == session.restarts and epoch]  # fmt: skip
    trace = detail.get("pose_trace") or []
    span = max([t for t, *_ in trace] + [c["at"] for c in chunks] + [p["due"] for p in prompts] + [1.0])

    def line(axis: int) -> str:
        return " ".join(f"{_x(row[0], span)},{_y(row[axis])}" for row in trace if row[axis] is not None)

    windows = [{"x": _x(p["shown"], span), "w": round(_x(p["due"], span) - _x(p["shown"], span), 1),
                "label": p["kind"].replace("_", " ")} for p in prompts]  # fmt: skip
    ticks = [{"x": _x(c["at"] - start, span), "title": f"chunk {c['seq']}: {c['at']:.2f} s, {c['size']} bytes"}
             for c in chunks]  # fmt: skip
    return {"prompts": prompts, "chunks": chunks, "windows": windows, "ticks": ticks, "yaw": line(1),
            "pitch": line(2), "width": WIDTH, "height": HEIGHT, "mid": HEIGHT / 2, "span": round(span, 1),
            "restarts": session.restarts, "user_agent": session.user_agent, "mime_type": session.mime_type}  # fmt: skip
