"""manage.py sweep_stuck_jobs: re-enqueue jobs stuck past the deadline, fail them after the attempt limit."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from generation import pipeline


class Command(BaseCommand):
    help = "Re-enqueue generation jobs stuck in a working state; fail those past the attempt limit."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = pipeline.sweep_stuck_jobs()
        self.stdout.write(f"requeued {counts['requeued']}, failed {counts['failed']}")
