"""The Celery app: two queues (``cpu`` and ``gpu``), JSON only, late acks, time limits, the render routed to gpu."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("talkgate")
# Broker URL, transport options and time limits come from Django settings (CELERY_* names).
app.config_from_object("django.conf:settings", namespace="CELERY")

CPU_QUEUE = "cpu"
GPU_QUEUE = "gpu"

app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # Tasks record their outcome in the database; nobody waits on Celery results.
    task_ignore_result=True,
    # A task is acknowledged only after it ran, so a worker killed mid-task hands it to another worker;
    # that is why every task must be idempotent.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_queues=(
        Queue(CPU_QUEUE, Exchange(CPU_QUEUE), routing_key=CPU_QUEUE),
        Queue(GPU_QUEUE, Exchange(GPU_QUEUE), routing_key=GPU_QUEUE),
    ),
    task_default_queue=CPU_QUEUE,
    task_default_exchange=CPU_QUEUE,
    task_default_routing_key=CPU_QUEUE,
    # The render goes to the gpu queue (its workers load the engine), everything else to cpu.
    task_routes=[
        {"generation.tasks.render_job": {"queue": GPU_QUEUE, "routing_key": GPU_QUEUE}},
        {"*": {"queue": CPU_QUEUE, "routing_key": CPU_QUEUE}},
    ],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    timezone="UTC",
    beat_schedule={
        "audit-chain-verify": {"task": "accounts.tasks.audit_verify_chain", "schedule": 3600.0},
        "webhooks-due": {"task": "webhooks.tasks.deliver_due_webhooks", "schedule": 10.0},
        "jobs-sweep": {"task": "generation.tasks.sweep_stuck_jobs", "schedule": 60.0},
        "inputs-retention": {"task": "generation.tasks.purge_expired_inputs", "schedule": 3600.0},
        "idempotency-sweep": {"task": "generation.tasks.sweep_idempotency_records", "schedule": 3600.0},
        "consents-expire": {"task": "moderation.tasks.expire_consents", "schedule": 600.0},
        "verify-uploads-purge": {"task": "verifier.tasks.purge_stale_verify_uploads", "schedule": 3600.0},
    },
)
app.autodiscover_tasks()


@signals.worker_init.connect
def _serve_worker_metrics(**_: Any) -> None:
    """In a worker's main process, before the pool forks: empty the metrics folder and serve TALKGATE_METRICS_PORT."""
    from django.conf import settings

    from core import metrics

    port, token = settings.TALKGATE_METRICS_PORT, settings.TALKGATE_METRICS_TOKEN
    if not port:
        return
    if not token:
        logging.getLogger(__name__).warning("TALKGATE_METRICS_PORT is set without TALKGATE_METRICS_TOKEN: no metrics")
        return
    metrics.reset_multiprocess_dir()
    metrics.serve(port, token)


@signals.worker_process_shutdown.connect
def _pool_process_gone(pid: int | None = None, **_: Any) -> None:
    """A pool process exited: its live gauges stop counting (its counters stay summed in)."""
    from core import metrics

    metrics.process_exited(pid or os.getpid())
