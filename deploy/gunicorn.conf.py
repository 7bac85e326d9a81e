"""Gunicorn hooks for the web processes: `gunicorn -c deploy/gunicorn.conf.py config.wsgi:application --bind ...`.

Binding, workers and timeouts stay on the command line (deploy/Procfile, compose, the Kubernetes manifests); this
file adds what Talkgate needs: the metrics folder emptied when the master starts and dead workers marked in it
(prometheus_client's multiprocess mode, see core/metrics.py), and gunicorn's own lines as JSON with LOG_FORMAT=json.
"""

from __future__ import annotations

import os
from typing import Any

if os.environ.get("LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "formatters": {"json": {"()": "core.logs.JsonFormatter"}},
    }


def on_starting(server: Any) -> None:
    """The master, before any worker: start the metrics from nothing (a previous run's files would be summed in)."""
    from core import metrics

    metrics.reset_multiprocess_dir()


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: its live gauges stop counting."""
    from core import metrics

    metrics.process_exited(worker.pid)
