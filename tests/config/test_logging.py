"""JSON logs (LOG_FORMAT=json): every line parses and carries the request id and the job id it belongs to."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from core.logs import ContextFilter, JsonFormatter
from generation import tasks
from generation.models import Job, JobStatus
from tests.conftest import PartnerActor
from tests.generation.conftest import media_root, post_job  # noqa: F401 - media_root is an autouse fixture


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """A handler configured as settings.LOGGING configures it for LOG_FORMAT=json, on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _parse(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db
def test_request_and_job_lines_carry_their_ids(alice: PartnerActor, json_lines: io.StringIO) -> None:
    response = alice.client.get("/v1/no-such-endpoint")
    assert response.status_code == 404
    request_lines = _parse(json_lines)
    # Django logs the 404 inside the request: the line names the request the client was told about.
    assert any(line["request_id"] == response["X-Request-ID"] for line in request_lines), request_lines
    json_lines.truncate(0)
    json_lines.seek(0)

    job = Job.objects.get(id=post_job(alice).json()["id"])
    json_lines.truncate(0)
    json_lines.seek(0)
    # The worker's task function: the job id is set for everything the pipeline logs while it runs.
    assert tasks.screen_job(str(job.id)) == JobStatus.QUEUED
    lines = _parse(json_lines)
    transitions = [line for line in lines if line["logger"] == "generation.services"]
    assert [line["message"] for line in transitions] == [f"job {job.id} is screening", f"job {job.id} is queued"]
    assert all(line["job_id"] == str(job.id) for line in lines), lines
    assert all(line["request_id"] == "" for line in lines)  # a task serves no request
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id", "job_id", "process"} <= set(line)


def test_exceptions_and_extras_stay_on_one_json_line(json_lines: io.StringIO) -> None:
    try:
        raise ValueError("broken\non two lines")
    except ValueError:
        logging.getLogger("talkgate.test").exception("it failed", extra={"delivery": "d-1"})
    (line,) = json_lines.getvalue().splitlines()
    parsed = json.loads(line)
    assert parsed["message"] == "it failed" and parsed["delivery"] == "d-1"
    assert "ValueError: broken" in parsed["exc_info"]


def test_log_format_json_switches_the_configured_handler(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update({"TALKGATE_DATA_DIR": str(tmp_path), "LOG_FORMAT": "json"})
    code = (
        "import django, logging; django.setup(); "
        "from core.context import job_scope\n"
        "with job_scope('j-42'): logging.getLogger('talkgate.test').warning('hello %s', 'world')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1]["message"] == "hello world" and lines[-1]["job_id"] == "j-42" and lines[-1]["level"] == "WARNING"
    # A value outside the choices stops the process at start-up.
    env["LOG_FORMAT"] = "xml"
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert refused.returncode != 0 and "LOG_FORMAT" in refused.stderr
