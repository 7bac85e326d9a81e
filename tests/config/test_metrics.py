"""The Prometheus endpoint: refused without its token; real requests, job transitions, renders, webhook failures,
audit-chain checks and the broker's queues show up; several processes' samples are summed; workers serve their own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from accounts import audit
from accounts.tasks import audit_verify_chain
from core import metrics
from generation import pipeline, tasks
from generation.models import Job, JobStatus
from gpu_worker.engine.options import RenderOptions, RenderResult
from tests.conftest import PartnerActor, make_consent, tiny_mp4
from tests.e2e.conftest import start_worker, stop_worker, wait_for, worker_env
from tests.generation.conftest import media_root, post_job  # noqa: F401 - media_root is an autouse fixture
from tests.webhooks.receiver import webhook_receiver
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def token(settings):  # type: ignore[no-untyped-def]
    settings.TALKGATE_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(token: str = TOKEN) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics with the token; every sample as (name, sorted labels) -> value."""
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """A sample's value, 0 when absent (counters start unseen)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_endpoint_does_not_exist_without_a_configured_token(settings, anon: APIClient) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_METRICS_TOKEN = None
    response = anon.get("/metrics", HTTP_AUTHORIZATION="Bearer anything-at-all-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_the_endpoint_refuses_a_missing_or_wrong_token(token: str, anon: APIClient, header: str | None) -> None:
    response = anon.get("/metrics", **({"HTTP_AUTHORIZATION": header} if header else {}))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"talkgate_" not in response.content


@pytest.mark.django_db
def test_requests_and_job_transitions_are_exposed_by_route_and_status(alice: PartnerActor, token: str) -> None:
    before = scrape()
    assert APIClient().get("/healthz").status_code == 200
    missing = uuid.uuid4()
    assert alice.client.get(f"/v1/generations/{missing}").status_code == 404
    consent = make_consent(alice.partner)
    job = Job.objects.get(id=post_job(alice, consent_id=consent.id).json()["id"])
    # The real task function (as a worker runs it): received -> screening -> queued.
    assert tasks.screen_job(str(job.id)) == JobStatus.QUEUED
    after = scrape()
    count = "talkgate_http_request_duration_seconds_count"
    healthz = {"route": "healthz", "method": "GET", "status": "200"}
    assert value(after, count, **healthz) == value(before, count, **healthz) + 1
    # The URL pattern, never the raw path: no job id lands in a label.
    one_job = {"route": "v1/generations/<uuid:job_id>", "method": "GET", "status": "404"}
    assert value(after, count, **one_job) == value(before, count, **one_job) + 1
    assert str(missing) not in str(after)
    for status in ("screening", "queued"):
        name = "talkgate_job_transitions_total"
        assert value(after, name, status=status) == value(before, name, status=status) + 1
        histogram = "talkgate_job_transition_seconds_count"
        assert value(after, histogram, status=status) == value(before, histogram, status=status) + 1
    assert value(after, "talkgate_jobs", status="queued") == 1
    assert value(after, "talkgate_jobs", status="rendering") == 0
    assert 0 <= value(after, "talkgate_jobs_oldest_seconds", status="queued") < 120
    # The queues, read from the test's broker on this scrape.
    assert value(after, "talkgate_broker_up") == 1
    assert {"cpu", "gpu"} <= {dict(labels).get("queue") for (name, labels) in after if name == "talkgate_queue_length"}


@pytest.mark.django_db
def test_a_broker_that_does_not_answer_reads_as_down_without_holding_the_scrape(token: str, settings) -> None:  # type: ignore[no-untyped-def]
    # Port 1 on loopback: nothing listens, the connection is refused.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    started = time.monotonic()
    samples = scrape()
    assert time.monotonic() - started < 5
    assert value(samples, "talkgate_broker_up") == 0
    assert not [key for key in samples if key[0] == "talkgate_queue_length"]


class StandInEngine:
    """A small engine through the documented interface (gpu_worker/engines.py): writes a real 1 s MP4."""

    name = "stand-in"
    version = "1"

    def render_to_file(self, photo_path: str, audio_path: str, out_path: str, opts: RenderOptions,
                       *args: Any, **kwargs: Any) -> RenderResult:  # fmt: skip
        """Write a real 64 px, 1 s, 25 fps H.264 clip."""
        Path(out_path).write_bytes(tiny_mp4(1.0))
        return RenderResult(width=64, height=64, fps=25, frame_count=25, duration_s=1.0, has_audio=True)


def stand_in_engine() -> StandInEngine:
    """The factory TALKGATE_ENGINE names."""
    return StandInEngine()


@pytest.mark.django_db
def test_a_render_reports_its_frames_per_second_and_real_time_factor(alice: PartnerActor, token: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_ENGINE = "tests.config.test_metrics:stand_in_engine"
    job = Job.objects.get(id=post_job(alice).json()["id"])
    assert pipeline.screen_job(str(job.id)) == JobStatus.QUEUED
    before = scrape()
    assert tasks.render_job(str(job.id)) == JobStatus.SIGNING
    after = scrape()
    for name in ("talkgate_render_fps_count", "talkgate_render_realtime_factor_count"):
        assert value(after, name, engine="stand-in") == value(before, name, engine="stand-in") + 1
    video = "talkgate_render_video_seconds_total"
    assert value(after, video, engine="stand-in") == pytest.approx(value(before, video, engine="stand-in") + 1.0)
    assert value(after, "talkgate_render_seconds_total", engine="stand-in") > value(
        before, "talkgate_render_seconds_total", engine="stand-in"
    )


@pytest.mark.django_db
def test_webhook_failures_and_the_audit_chain_check_are_exposed(alice: PartnerActor, token: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_WEBHOOK_ALLOW_PRIVATE = True
    settings.TALKGATE_WEBHOOK_ALLOW_HTTP = True
    settings.TALKGATE_WEBHOOK_BACKOFF_S = [0, 0]
    before = scrape()
    with webhook_receiver(statuses=[503]) as receiver:
        endpoint, _ = webhooks.endpoint_create(partner=alice.partner, url=receiver.url)
        post_job(alice)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        webhooks.deliver(delivery.id)
        webhooks.deliver(delivery.id)
    assert audit.verify_chain_recorded().ok
    after = scrape()
    failures = "talkgate_webhook_delivery_failures_total"
    assert value(after, failures, reason="http_5xx") == value(before, failures, reason="http_5xx") + 1
    for result in ("retrying", "succeeded"):
        name = "talkgate_webhook_deliveries_total"
        assert value(after, name, result=result) == value(before, name, result=result) + 1
    checks = "talkgate_audit_chain_checks_total"
    assert value(after, checks, result="ok") == value(before, checks, result="ok") + 1
    assert value(after, "talkgate_audit_chain_ok") == 1
    assert time.time() - value(after, "talkgate_audit_chain_last_check_timestamp_seconds") < 60


_WRITER = """
from core import metrics
metrics.job_transitioned("succeeded", 30.0)
metrics.audit_chain_checked({ok})
"""


@pytest.fixture
def multiproc_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "prometheus"
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(folder))
    yield folder


def test_samples_of_several_processes_are_summed_in_multiprocess_mode(multiproc_dir: Path) -> None:
    # Two separate processes (as gunicorn's workers or Celery's pool children) write to the same folder.
    env = {**os.environ, metrics.MULTIPROC_ENV: str(multiproc_dir)}
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER.format(ok=ok)], cwd=django_settings.BASE_DIR, env=env)
        for ok in (True, False)
    ]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    samples = parse(metrics.exposition().decode())
    assert value(samples, "talkgate_job_transitions_total", status="succeeded") == 2
    assert value(samples, "talkgate_job_transition_seconds_count", status="succeeded") == 2
    assert value(samples, "talkgate_audit_chain_checks_total", result="ok") == 1
    assert value(samples, "talkgate_audit_chain_checks_total", result="broken") == 1
    # A gauge is the latest value, not a sum over processes.
    assert value(samples, "talkgate_audit_chain_ok") in (0, 1)
    # A new process group starts from nothing.
    metrics.reset_multiprocess_dir()
    assert not list(multiproc_dir.glob("*.db"))


def test_a_worker_serves_its_metrics_on_its_own_port_with_the_token() -> None:
    metrics.job_transitioned("rendering", 5.0)
    server = metrics.serve(0, TOKEN, addr="127.0.0.1")
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            samples = parse(response.read().decode())
        assert value(samples, "talkgate_job_transitions_total", status="rendering") >= 1
    finally:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.django_db(transaction=True)
def test_gunicorn_workers_are_summed_and_log_json(tmp_path: Path) -> None:
    # The production web command (deploy/gunicorn.conf.py, two workers); the test database, so /metrics can count.
    port = _free_port()
    folder = tmp_path / "prometheus"
    env = worker_env(PROMETHEUS_MULTIPROC_DIR=str(folder), TALKGATE_METRICS_TOKEN=TOKEN, LOG_FORMAT="json")
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left over from a previous run")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=django_settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
        for _ in range(19):
            urllib.request.urlopen(f"{base}/healthz", timeout=5).close()
        request = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            samples = parse(response.read().decode())
        count = "talkgate_http_request_duration_seconds_count"
        # Every request counted once, whichever worker served it; the stale file was cleared at start.
        assert value(samples, count, route="healthz", method="GET", status="200") == 20
        assert not (folder / "counter_999999.db").exists()
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert any("Booting worker" in line["message"] for line in lines)
    assert all({"request_id", "job_id", "level", "message"} <= set(line) for line in lines)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_exports_what_its_pool_processes_recorded(tmp_path: Path) -> None:
    port = _free_port()
    worker = start_worker(
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"), TALKGATE_METRICS_PORT=str(port),
        TALKGATE_METRICS_TOKEN=TOKEN,
    )  # fmt: skip
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    def checked() -> float:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return value(parse(response.read().decode()), "talkgate_audit_chain_checks_total", result="ok")
        except OSError:
            return 0.0

    try:
        # The task runs in the prefork pool's child; the main process serves the port and sums the folder.
        audit_verify_chain.delay()
        assert wait_for(checked, timeout=90, what="the audit check in the worker's metrics", worker=worker) == 1
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert refused.value.code == 401
    finally:
        stop_worker(worker)
