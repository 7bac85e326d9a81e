"""Usage figures for the console, computed from job rows over a bounded window (read-only).

Quota use this month is not computed here: the console shows ``generation.selectors.usage_get``, the figure
quotas are enforced with and ``/v1/usage`` reports.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from generation.models import Job, JobStatus

OUTCOMES = ("succeeded", "rejected", "failed", "other")
COLOURS = {"succeeded": "#1f7a3d", "rejected": "#b3261e", "failed": "#8a5a00", "other": "#8c96a3"}


def _outcome(status: str) -> str:
    if status in (JobStatus.SUCCEEDED, JobStatus.REVOKED):
        return "succeeded"  # a revoked output was still generated
    if status in (JobStatus.REJECTED, JobStatus.FAILED):
        return str(status)
    return "other"


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile: an observed value, never an interpolation between two jobs."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Usage:
    days: list[date]
    per_day: dict[date, Counter[str]]
    reasons: list[tuple[str, int]]
    seconds_generated: float
    p95_latency_s: float | None
    totals: Counter[str] = field(default_factory=Counter)


def usage(*, partner_id: object | None, days: int = 30, now: datetime | None = None) -> Usage:
    """Jobs per day by outcome, rejection reasons, seconds generated and p95 latency for the last ``days`` days."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    jobs = Job.objects.filter(created_at__gte=start)
    if partner_id:
        jobs = jobs.filter(partner_id=partner_id)
    per_day: dict[date, Counter[str]] = {first + timedelta(days=i): Counter() for i in range(days)}
    reasons: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    seconds = 0.0
    latencies: list[float] = []
    fields = ("status", "reason_codes", "created_at", "finished_at", "output_meta", "audio_duration_s")
    for status, codes, created, finished, meta, audio_s in jobs.values_list(*fields).iterator():
        outcome = _outcome(status)
        per_day.setdefault(timezone.localdate(created), Counter())[outcome] += 1
        totals[outcome] += 1
        if outcome == "rejected":
            reasons.update(codes or ["unspecified"])
        if outcome == "succeeded":
            seconds += float((meta or {}).get("duration_s", audio_s) or 0)
            if finished:
                latencies.append((finished - created).total_seconds())
    return Usage(
        days=list(per_day),
        per_day=per_day,
        reasons=reasons.most_common(),
        seconds_generated=seconds,
        p95_latency_s=percentile(latencies, 95),
        totals=totals,
    )


def bar_chart(result: Usage, *, width: int = 900, height: int = 220) -> dict[str, Any]:
    """Geometry for a stacked bar chart (one bar a day), drawn as SVG by the template."""
    pad_left, pad_bottom, pad_top = 32, 22, 10
    inner_h = height - pad_bottom - pad_top
    peak = max([sum(c.values()) for c in result.per_day.values()] + [1])
    slot = (width - pad_left) / max(len(result.days), 1)
    bars: list[dict[str, Any]] = []
    for i, day in enumerate(result.days):
        y = height - pad_bottom
        counts = result.per_day.get(day, Counter())
        for outcome in OUTCOMES:
            n = counts.get(outcome, 0)
            if not n:
                continue
            h = n / peak * inner_h
            y -= h
            bars.append({
                "x": round(pad_left + i * slot + 1, 1), "y": round(y, 1), "w": round(max(slot - 2, 1), 1),
                "h": round(h, 1), "colour": COLOURS[outcome], "title": f"{day}: {n} {outcome}",
            })  # fmt: skip
    labels = [
        {"x": round(pad_left + i * slot + slot / 2, 1), "text": day.strftime("%d.%m")}
        for i, day in enumerate(result.days)
        if i % 5 == 0 or i == len(result.days) - 1
    ]
    return {"width": width, "height": height, "bars": bars, "labels": labels, "peak": peak,
            "axis_y": height - pad_bottom, "top": pad_top, "left": pad_left,
            "legend": [{"name": o, "colour": COLOURS[o]} for o in OUTCOMES]}  # fmt: skip
