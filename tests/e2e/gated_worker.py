"""A Celery app for end-to-end tests whose renders hold after their first batch until the test lets them go.

Start it with ``start_worker(app="tests.e2e.gated_worker", TALKGATE_TEST_RENDER_GATE=<folder>)``. After a render
has produced its first batch it writes ``<folder>/<job id>.paused`` and waits before the next batch until the job
is no longer its own (cancelled, taken over) or ``<folder>/release`` exists. A test can then act on a render that
is certainly in progress, however fast the machine renders.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from celery.signals import task_prerun

from config.celery import app

__all__ = ["app"]

HOLD_LIMIT_S = 180.0


def _install_gate() -> None:
    from generation import pipeline

    watch = pipeline._RenderWatch
    if getattr(watch, "_gated", False):
        return
    gate = Path(os.environ["TALKGATE_TEST_RENDER_GATE"])
    progress, should_cancel = watch.progress, watch.should_cancel

    def gated_progress(self: Any, fraction: float, stage: str) -> None:
        progress(self, fraction, stage)
        if stage == "render":
            self._rendered = True

    def gated_should_cancel(self: Any) -> bool:
        if getattr(self, "_rendered", False) and not getattr(self, "_held", False):
            self._held = True
            (gate / f"{self.job_id}.paused").touch()
            deadline = time.monotonic() + HOLD_LIMIT_S
            while self.still_mine() and not (gate / "release").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            self._last_check = 0.0  # look at the row now, not after the usual check interval
        return should_cancel(self)

    watch.progress, watch.should_cancel = gated_progress, gated_should_cancel
    watch._gated = True


@task_prerun.connect
def _gate_renders(**_: Any) -> None:
    _install_gate()
