"""manage.py sweep_idempotency_records: delete Idempotency-Key records past their lifetime."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from generation.idempotency import idempotency_record_sweep


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than TALKGATE_IDEMPOTENCY_TTL_HOURS (finished or stuck in progress)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"deleted {idempotency_record_sweep()} idempotency records")
