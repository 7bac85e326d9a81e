"""Prometheus metrics: every measure defined once, one helper per event, request timing, and the exposition.

Multi-process: with ``PROMETHEUS_MULTIPROC_DIR`` set, every process (gunicorn's workers, Celery's pool children)
writes its samples to files in that folder and whoever answers a scrape sums them (prometheus_client's
multiprocess mode). One folder per process group (one container or pod), emptied when the group starts. Without
it, a process exports only its own samples: right for ``runserver`` and tests, wrong for a prefork pool.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.http import HttpRequest, HttpResponse

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

if os.environ.get(MULTIPROC_ENV):
    # prometheus_client opens its files there as soon as a metric exists: a missing folder must not crash start-up.
    Path(os.environ[MULTIPROC_ENV]).mkdir(parents=True, exist_ok=True)

from prometheus_client import (  # noqa: E402  (the folder above must exist before the values are created)
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric  # noqa: E402

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_SECONDS = Histogram(
    "talkgate_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern (never the raw path), method and status.",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
JOB_TRANSITIONS = Counter("talkgate_job_transitions_total", "Job status changes, by the status entered.", ["status"])
JOB_TRANSITION_SECONDS = Histogram(
    "talkgate_job_transition_seconds",
    "Seconds from a job's creation until it entered this status (time to queued, to signing, to succeeded...).",
    ["status"],
    buckets=_JOB_BUCKETS,
)
RENDER_FPS = Histogram(
    "talkgate_render_fps",
    "Frames rendered per second of wall time, per finished render.",
    ["engine"],
    buckets=(0.5, 1, 2, 5, 10, 15, 20, 25, 30, 45, 60, 100, 200),
)
RENDER_RTF = Histogram(
    "talkgate_render_realtime_factor",
    "Render wall time divided by the video's duration, per finished render (below 1: faster than real time).",
    ["engine"],
    buckets=(0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 4, 8, 16, 32),
)
RENDER_SECONDS = Counter("talkgate_render_seconds_total", "Wall time spent in finished renders.", ["engine"])
RENDER_VIDEO_SECONDS = Counter("talkgate_render_video_seconds_total", "Seconds of video rendered.", ["engine"])
CONSENT_VERIFICATIONS = Counter(
    "talkgate_consent_verifications_total",
    "Consent recordings verified, by the consent's outcome and each reason code ('none' when there is none).",
    ["outcome", "reason"],
)
WEBHOOK_DELIVERIES = Counter(
    "talkgate_webhook_deliveries_total",
    "Webhook delivery attempts by result: succeeded, retrying (failed, will retry) or failed (gave up).",
    ["result"],
)
WEBHOOK_FAILURES = Counter(
    "talkgate_webhook_delivery_failures_total",
    "Failed webhook delivery attempts by reason (http_4xx, http_5xx, a guard's code, the network error's name).",
    ["reason"],
)
AUDIT_CHAIN_CHECKS = Counter("talkgate_audit_chain_checks_total", "Audit-chain checks by result.", ["result"])
# "mostrecent": across the processes of a group the latest check wins, not their sum.
AUDIT_CHAIN_OK = Gauge(
    "talkgate_audit_chain_ok",
    "1 when the latest audit-chain check in this process group passed, 0 when it found a broken entry.",
    multiprocess_mode="mostrecent",
)
AUDIT_CHAIN_CHECKED_AT = Gauge(
    "talkgate_audit_chain_last_check_timestamp_seconds",
    "Unix time of the latest audit-chain check in this process group.",
    multiprocess_mode="mostrecent",
)


# --- Events ---------------------------------------------------------------------------------------------------


def job_transitioned(status: str, seconds_since_created: float) -> None:
    """A job entered ``status``."""
    JOB_TRANSITIONS.labels(status=status).inc()
    JOB_TRANSITION_SECONDS.labels(status=status).observe(max(seconds_since_created, 0.0))


def render_finished(*, engine: str, frames: int, video_seconds: float, render_seconds: float) -> None:
    """A render finished: its speed in frames per second and against real time."""
    render_seconds = max(render_seconds, 1e-6)
    RENDER_FPS.labels(engine=engine).observe(frames / render_seconds)
    if video_seconds > 0:
        RENDER_RTF.labels(engine=engine).observe(render_seconds / video_seconds)
    RENDER_SECONDS.labels(engine=engine).inc(render_seconds)
    RENDER_VIDEO_SECONDS.labels(engine=engine).inc(max(video_seconds, 0.0))


def consent_verified(outcome: str, reasons: Iterable[str]) -> None:
    """A recording's verification moved its consent to ``outcome`` for these reasons."""
    for reason in list(reasons) or ["none"]:
        CONSENT_VERIFICATIONS.labels(outcome=outcome, reason=reason).inc()


def webhook_attempted(result: str, *, status_code: int | None = None, error: str = "") -> None:
    """One delivery attempt ended with ``result``; a failure's reason is its status class or error."""
    WEBHOOK_DELIVERIES.labels(result=result).inc()
    if result != "succeeded":
        reason = f"http_{status_code // 100}xx" if status_code else (error or "unknown")
        WEBHOOK_FAILURES.labels(reason=reason[:64]).inc()


def audit_chain_checked(ok: bool) -> None:
    """An audit-chain check passed (or found a broken entry)."""
    AUDIT_CHAIN_CHECKS.labels(result="ok" if ok else "broken").inc()
    AUDIT_CHAIN_OK.set(1 if ok else 0)
    AUDIT_CHAIN_CHECKED_AT.set(time.time())


# --- Requests -------------------------------------------------------------------------------------------------


class RequestMetricsMiddleware:
    """Time every request by its URL pattern (bounded labels: never the raw path, ids or tokens)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # Refused before URL resolution (413, a bad Content-Length) or no pattern matched (404).
        route = match.route if match is not None and match.route else "(unmatched)"
        method = request.method if request.method in _METHODS else "other"
        REQUEST_SECONDS.labels(route=route, method=method, status=str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


# --- Exposition -----------------------------------------------------------------------------------------------


class _Own:
    """This process's default registry, as one collector among others."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(extra: Iterable[Any] = ()) -> bytes:
    """The text exposition of this process group (all its processes in multiprocess mode) plus ``extra`` collectors."""
    # No auto-describe: collectors are only collected when the scrape runs, not when registered.
    registry = CollectorRegistry(auto_describe=False)
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry.register(_Own())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


def token_matches(header: str, token: str | None) -> bool:
    """Whether an Authorization header carries ``Bearer <token>`` (constant-time); never with no token set."""
    scheme, _, given = header.partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def reset_multiprocess_dir() -> None:
    """Empty the multiprocess folder when a process group starts, so a dead group's samples are not summed in."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return
    folder = Path(path)
    for item in folder.glob("*.db"):
        item.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)


def process_exited(pid: int) -> None:
    """Tell the multiprocess files that ``pid`` is gone (its live gauges stop counting)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the log."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve(port: int, token: str, addr: str = "0.0.0.0") -> WSGIServer:  # noqa: S104  (scraped from other hosts)
    """Serve this process group's metrics on ``port`` (Celery workers), bearer token required; returns the server."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not token_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"unauthorized\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [exposition()]

    server = make_server(addr, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="talkgate-metrics", daemon=True).start()
    return server
