"""Schema-driven fuzzing: every operation of /api/schema/, with a partner key and a reviewer key, must answer
without a 5xx and as the schema says (status code, content type, body).

Bounded for CI (``TALKGATE_FUZZ_EXAMPLES`` examples per operation, default 6); ``python bench/fuzz.py`` runs the
same test longer and prints a table per operation.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services
from accounts.models import Role, Scope
from accounts.throttling import TalkgateRateThrottle
from tests.conftest import make_actor, make_consent

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = int(os.environ.get("TALKGATE_FUZZ_EXAMPLES", "6"))
REPORT = os.environ.get("TALKGATE_FUZZ_REPORT")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _fuzz(roles: dict[str, str]) -> tuple[dict[str, Counter[int]], list[dict[str, Any]]]:
    """Run every operation's examples with each role's key; statuses per operation and every check failure."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    failures: list[dict[str, Any]] = []

    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            label = case.operation.label
            for role, token in roles.items():
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                statuses[label][response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except Exception as exc:  # a schemathesis failure group: record it, keep fuzzing the rest
                    failures.append(
                        {"operation": label, "role": role, "status": response.status_code, "error": _first_line(exc)}
                    )

        run()

    return statuses, failures


def test_every_operation_answers_as_the_schema_says(settings, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    # The fuzzer is one client at one address: budgets would turn most answers into (documented) 429s.
    for scope in ("anon", "reviewer", "verify", "revoke"):
        monkeypatch.setitem(TalkgateRateThrottle.THROTTLE_RATES, scope, "1000000/min")
    partner = make_actor("Fuzz Partner", rate=1_000_000)
    make_consent(partner.partner)
    user = services.reviewer_create(username="fuzz-reviewer", email="f@x.example", password=None, role=Role.REVIEWER)
    _, reviewer_token = services.api_key_create(user=user, name="fuzz", scopes=[Scope.REVIEW])
    roles = {"partner": partner.token, "reviewer": reviewer_token}

    # Like Django's test client: the WSGI handler must not close the test's database connection after each request.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        statuses, failures = _fuzz(roles)
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)

    total = sum(sum(c.values()) for c in statuses.values())
    server_errors = sum(n for c in statuses.values() for code, n in c.items() if code >= 500)
    if REPORT:
        Path(REPORT).write_text(
            json.dumps(
                {
                    "examples": EXAMPLES,
                    "requests": total,
                    "server_errors": server_errors,
                    "statuses": {k: dict(v) for k, v in statuses.items()},
                    "failures": failures,
                }
            )
        )
    assert len(statuses) >= 50, sorted(statuses)  # every operation ran
    distinct = sorted({(f["operation"], f["status"], f["error"]) for f in failures})
    assert not distinct, "\n".join(f"{op} -> {status}: {err}" for op, status, err in distinct[:40])
    assert server_errors == 0
