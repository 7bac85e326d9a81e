"""GET /metrics (bearer token): the web processes' metrics plus what each scrape reads (queue lengths, active jobs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from kombu import Connection
from kombu.exceptions import ChannelError
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from config.celery import app as celery_app
from core.errors import json_error_response
from core.metrics import CONTENT_TYPE_LATEST, exposition, token_matches
from generation.models import ACTIVE_STATUSES, Job

# A scrape must answer even when the broker hangs: the read runs beside it and is given up after this long.
QUEUE_READ_TIMEOUT_S = 2.0
_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="talkgate-queue-read")


def queue_lengths(timeout: float = QUEUE_READ_TIMEOUT_S) -> dict[str, int]:
    """Messages waiting in each Celery queue, read from the broker (raises when it does not answer in time)."""
    names = [queue.name for queue in celery_app.conf.task_queues]
    options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "socket_timeout": timeout, "socket_connect_timeout": timeout}
    with Connection(settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=timeout)
        channel = conn.default_channel
        lengths: dict[str, int] = {}
        for name in names:
            try:
                lengths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
            except ChannelError:
                # Redis keeps no key for an empty list: a queue nobody has sent to yet is empty, not missing.
                lengths[name] = 0
        return lengths


class QueueCollector:
    """talkgate_queue_length{queue} and talkgate_broker_up, read from the broker on each scrape, bounded in time."""

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        lengths: dict[str, int] | None
        try:
            lengths = _reader.submit(queue_lengths).result(timeout=QUEUE_READ_TIMEOUT_S + 0.5)
        except FutureTimeout:
            lengths = None
        except Exception:  # refused, unknown host, a transport error: the broker is down for this scrape
            lengths = None
        family = GaugeMetricFamily(
            "talkgate_queue_length", "Messages waiting in each Celery queue (not counting those being worked on).",
            labels=["queue"],
        )  # fmt: skip
        for name, length in sorted((lengths or {}).items()):
            family.add_metric([name], length)
        yield family
        up = int(lengths is not None)
        yield GaugeMetricFamily("talkgate_broker_up", "1 when the broker answered this scrape's queue read.", value=up)
        yield GaugeMetricFamily(
            "talkgate_queue_read_seconds", "Time this scrape spent reading queue lengths.",
            value=time.perf_counter() - started,
        )  # fmt: skip


class JobStateCollector:
    """talkgate_jobs{status} and the age of the oldest job in each active status, from the database."""

    def collect(self) -> Iterator[Metric]:
        rows = {
            row["status"]: row
            for row in Job.objects.filter(status__in=list(ACTIVE_STATUSES))
            .values("status")
            .annotate(count=Count("id"), oldest=Min("status_changed_at"))
        }
        now = timezone.now()
        jobs = GaugeMetricFamily("talkgate_jobs", "Jobs in each active status now.", labels=["status"])
        oldest = GaugeMetricFamily(
            "talkgate_jobs_oldest_seconds", "Seconds the longest-waiting job has been in each active status.",
            labels=["status"],
        )  # fmt: skip
        for status in ACTIVE_STATUSES:
            row = rows.get(status)
            jobs.add_metric([status], row["count"] if row else 0)
            oldest.add_metric([status], (now - row["oldest"]).total_seconds() if row else 0.0)
        yield jobs
        yield oldest


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition; 404 while no token is configured, 401 without the right bearer token."""
    token = settings.TALKGATE_METRICS_TOKEN
    if not token:
        return json_error_response(404, "not_found", "Not found.")
    if not token_matches(request.META.get("HTTP_AUTHORIZATION", ""), token):
        response = json_error_response(401, "not_authenticated", "The metrics need the bearer token.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = exposition([QueueCollector(), JobStateCollector()])
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
