"""Liveness (/healthz) and readiness (/readyz: database and broker reachable)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.celery import app as celery_app


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _check_database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": _elapsed_ms(started), "vendor": connection.vendor}


def _check_broker() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        # The URL comes from Django settings, so a probe (or a test) never mutates the shared Celery app.
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            # One quick attempt: a readiness probe must answer fast, not retry for minutes.
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)
            # Kombu's Redis transport connects lazily; a PING proves the server really answers.
            client = getattr(conn.default_channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()
            transport = conn.transport_cls
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": _elapsed_ms(started), "transport": transport}


class _Probe(APIView):
    # Probes are for orchestrators: no credentials, no throttling (a throttled probe would restart pods).
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []


class HealthzApi(_Probe):
    """The process is up and serving."""

    @extend_schema(responses=inline_serializer("Health", {"status": serializers.CharField()}), tags=["ops"])
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyzApi(_Probe):
    """Ready to take traffic: the database answers and the broker accepts a connection (503 otherwise)."""

    @extend_schema(
        responses={
            200: inline_serializer("Readiness", {"status": serializers.CharField(), "checks": serializers.DictField()}),
            503: inline_serializer("NotReady", {"status": serializers.CharField(), "checks": serializers.DictField()}),
        },
        tags=["ops"],
    )
    def get(self, request: Request) -> Response:
        checks = {"database": _check_database(), "broker": _check_broker()}
        ready = all(check["ok"] for check in checks.values())
        return Response({"status": "ready" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
