"""API benchmark: gunicorn (2 workers) on PostgreSQL + Redis; req/s and latency percentiles per endpoint.

    .venv/bin/python bench/api.py [--seconds 10] [--concurrency 8]

Measures GET /v1/generations/{id} and POST /v1/generations (input checks + storage + enqueue, small inputs)
side by side with a trivial Django view on the same server (the ceiling), and prints a table.
The load generator runs on the same machine, so on a 2-core box it competes with the server for CPU.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import wave
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = "talkgate_bench"
PORT = 8931


def _env(data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/11"),
        "TALKGATE_DATA_DIR": data_dir,
        "LOG_LEVEL": "WARNING",
    }


def _ensure_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _small_inputs() -> tuple[bytes, bytes]:
    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (192, 192), (150, 110, 90)).save(photo, format="PNG")
    audio = io.BytesIO()
    with wave.open(audio, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x01" * 16000)  # one second
    return photo.getvalue(), audio.getvalue()


def _setup() -> tuple[str, str, str]:
    """A partner with generous limits, a key, a verified consent and one job to read back."""
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from accounts import services
    from accounts.models import PARTNER_SCOPES, Partner, PartnerStatus
    from generation.models import Job
    from moderation.models import Consent, Subject

    call_command("migrate", verbosity=0)
    partner = Partner.objects.create(
        name=f"Bench {uuid.uuid4().hex[:6]}", contact_name="b", contact_email="b@example.org", use_case="education",
        use_case_description="benchmark partner", approved_use_cases=["education"], status=PartnerStatus.APPROVED,
        rate_limit_per_minute=1_000_000, max_concurrent_jobs=1_000_000, monthly_video_seconds=100_000_000,
    )  # fmt: skip
    _, token = services.api_key_create(partner=partner, name="bench", scopes=list(PARTNER_SCOPES))
    subject = Subject.objects.create(partner=partner, display_name="bench subject")
    consent = Consent.objects.create(
        partner=partner, subject=subject, use_case="education", valid_from=timezone.now() - timedelta(minutes=1),
        valid_until=timezone.now() + timedelta(days=1), max_generations=1_000_000, status="verified",
    )  # fmt: skip
    job = Job.objects.create(partner=partner, consent=consent, options={}, photo="x", audio="y", audio_duration_s=1.0)
    return token, str(consent.id), str(job.id)


def _load(request: Callable[[http.client.HTTPConnection], int], seconds: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine: list[float] = []
        bad = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            status = request(conn)
            mine.append(time.perf_counter() - started)
            bad += status >= 400
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    q = statistics.quantiles(latencies, n=100)
    return {"n": len(latencies), "rps": len(latencies) / elapsed, "p50": q[49] * 1000, "p95": q[94] * 1000,
            "p99": q[98] * 1000, "errors": errors[0]}  # fmt: skip


def _call(method: str, path: str, headers: dict[str, str], body: bytes | None = None):  # type: ignore[no-untyped-def]
    def request(conn: http.client.HTTPConnection) -> int:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status

    return request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    _ensure_database()
    data_dir = tempfile.mkdtemp(prefix="talkgate-bench-")
    env = _env(data_dir)
    os.environ.update(env)
    token, consent_id, job_id = _setup()
    from core.http import encode_multipart

    photo, audio = _small_inputs()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "2", "--bind",
         f"127.0.0.1:{PORT}", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {token}"}
        body, content_type = encode_multipart(
            {"consent_id": consent_id, "size": "256"}, {"photo": ("p.png", photo), "audio": ("a.wav", audio)}
        )
        cases = [
            ("GET /bench/trivial (plain Django)", _call("GET", "/bench/trivial", {})),
            ("GET /v1/generations/{id}", _call("GET", f"/v1/generations/{job_id}", auth)),
            ("POST /v1/generations (multipart)",
             _call("POST", "/v1/generations", {**auth, "Content-Type": content_type}, body)),
        ]  # fmt: skip
        rows = []
        for name, fn in cases:
            _load(fn, 1.0, args.concurrency)  # warm-up
            rows.append((name, _load(fn, args.seconds, args.concurrency)))
    finally:
        server.terminate()
        server.wait(timeout=30)
        import redis

        for url in (env["REDIS_URL"], env["CELERY_BROKER_URL"]):
            redis.Redis.from_url(url).flushdb()
    ceiling = rows[0][1]["rps"]
    print(f"\ngunicorn 2 workers, PostgreSQL + Redis, {args.concurrency} client threads, {args.seconds:g} s each, "
          f"{os.cpu_count()} CPU cores shared by client and server\n")  # fmt: skip
    print(f"| {'endpoint':36} | {'requests':>8} | {'req/s':>7} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} "
          f"| {'errors':>6} | {'vs ceiling':>10} |")  # fmt: skip
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 8}|{'-' * 12}|")
    for name, r in rows:
        print(f"| {name:36} | {r['n']:8d} | {r['rps']:7.1f} | {r['p50']:7.1f} | {r['p95']:7.1f} | {r['p99']:7.1f} "
              f"| {r['errors']:6d} | {r['rps'] / ceiling:9.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
