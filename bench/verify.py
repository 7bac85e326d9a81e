"""Public verification under hostile files: status, seconds and peak memory per file, in one command.

    .venv/bin/python bench/verify.py [--timeout 120] [--cases bomb,frames600,...] [--no-http] [--no-memory]

Files (made here): an 8000x8000 1-bit PNG (~8 KB), 600 black 720p frames of H.264 (~19 KB, PyAV), a 1x1 PNG, a
128-byte PNG whose header declares 100000x100000, and a marked 10 s 512 px clip (the watermark a job carries).

* HTTP: gunicorn (2 workers) and one Celery cpu worker (concurrency 1) on PostgreSQL + Redis; each file is
  POSTed to /v1/verify and a 202 is followed through its result URL. `status` is the first answer, then the
  final one (and the error code), `s` the seconds until the final answer. Each server is warmed up first.
* Memory: each file is verified by `verifier.services.verify_upload` (the worker's code path, same limits) in
  a fresh process; `peak MB` is that process's peak RSS (wait4's ru_maxrss), `warm MB` its RSS after importing
  everything and verifying a small image, so `peak - warm` is what the file itself cost.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = "talkgate_verify_bench"
PORT = 8932
CASES = ("bomb", "frames600", "png1x1", "declared", "marked")
FILE_NAMES = {"bomb": "bomb.png", "frames600": "black600.mp4", "png1x1": "one.png", "declared": "declared.png",
              "marked": "marked.mp4"}  # fmt: skip
TITLES = {
    "bomb": "8000x8000 1-bit PNG",
    "frames600": "600 black 720p frames H.264",
    "png1x1": "1x1 PNG",
    "declared": "PNG declaring 100000x100000",
    "marked": "marked 10 s 512 px clip",
}


def _env(data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13"),
        "TALKGATE_DATA_DIR": data_dir,
        "TALKGATE_VERIFY_RATE": "10000/min",
        "TALKGATE_ANON_RATE": "10000/min",
        "LOG_LEVEL": "WARNING",
    }


def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 256)) + chunk(b"IEND", b"")
    data = b"\x89PNG\r\n\x1a\n" + body
    return data + b"\x00" * max(0, 128 - len(data))  # trailing bytes after IEND are ignored by decoders


def make_files(folder: Path) -> dict[str, Path]:
    """The hostile files and the marked clip."""
    import av
    import numpy as np
    from PIL import Image

    bomb = io.BytesIO()
    Image.new("1", (8000, 8000), 0).save(bomb, format="PNG", optimize=True)
    files = {case: folder / name for case, name in FILE_NAMES.items()}
    files["bomb"].write_bytes(bomb.getvalue())
    with av.open(str(files["frames600"]), mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        black = av.VideoFrame.from_ndarray(np.zeros((720, 1280, 3), dtype=np.uint8), format="rgb24")
        for _ in range(600):
            out.mux(stream.encode(black))
        out.mux(stream.encode(None))
    one = io.BytesIO()
    Image.new("RGB", (1, 1), (0, 0, 0)).save(one, format="PNG")
    files["png1x1"].write_bytes(one.getvalue())
    files["declared"].write_bytes(_png_declaring(100_000, 100_000))
    from provenance.watermark import Embedder, testing

    clip = testing.make_clip(seed=7, n_frames=250, size=512)
    files["marked"].write_bytes(testing.encode(Embedder("be11ca7e").embed_batch(clip), 25, crf=23))
    return files


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "talkgatebench"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()  # fmt: skip
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _request(method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: float):  # type: ignore[no-untyped-def]
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, dict(response.getheaders()), payload
    finally:
        conn.close()


def http_case(path: Path, timeout: float) -> dict[str, object]:
    """POST the file, follow a 202 to the final answer; first and final status, error code, seconds."""
    body, content_type = _multipart(path.name, path.read_bytes())
    started = time.perf_counter()
    try:
        status, headers, payload = _request("POST", "/v1/verify", body, {"Content-Type": content_type}, timeout)
    except (OSError, http.client.HTTPException) as exc:
        seconds = time.perf_counter() - started
        return {"first": f"no answer ({type(exc).__name__})", "final": "-", "code": "", "s": seconds}
    first = status
    while status == 202 and time.perf_counter() - started < timeout:
        time.sleep(0.25)
        location = urlsplit(headers.get("Location", "")).path
        status, headers, payload = _request("GET", location, None, {}, timeout)
    seconds = time.perf_counter() - started
    code = ""
    try:
        data = json.loads(payload or b"null")
        if isinstance(data, dict) and "error" in data:
            code = data["error"]["code"]
        elif isinstance(data, dict) and data.get("watermark"):
            mark = data["watermark"]
            code = mark.get("status") or ("found" if mark.get("detected") else "not_found")
    except ValueError:
        pass
    return {"first": first, "final": status, "code": code, "s": seconds}


def _warm_up(folder: Path) -> None:
    from PIL import Image

    small = folder / "warm.png"
    Image.new("RGB", (96, 96), (80, 90, 100)).save(small)
    threads = [threading.Thread(target=http_case, args=(small, 120)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_http(files: dict[str, Path], cases: list[str], timeout: float, folder: Path) -> dict[str, dict[str, object]]:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    data_dir = tempfile.mkdtemp(prefix="talkgate-bench-verify-")
    env = _env(data_dir)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "2", "--bind",
         f"127.0.0.1:{PORT}", "--log-level", "warning", "--timeout", str(int(timeout) + 30)],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "cpu", "--concurrency", "1",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    rows: dict[str, dict[str, object]] = {}
    try:
        for _ in range(200):
            try:
                _request("GET", "/healthz", None, {}, 1)
                break
            except OSError:
                time.sleep(0.1)
        _warm_up(folder)
        for case in cases:
            rows[case] = http_case(files[case], timeout)
            print(f"  http {case}: {rows[case]}", flush=True)
    finally:
        for proc in (server, worker):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in (server, worker):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        import redis

        for url in (env["REDIS_URL"], env["CELERY_BROKER_URL"]):
            redis.Redis.from_url(url).flushdb()
    return rows


def _one(path: str) -> None:
    """Child process: warm up, then verify one file the way the worker does; print JSON."""
    import resource

    import django

    django.setup()
    from PIL import Image

    from core.errors import DomainError
    from verifier import services

    warm = io.BytesIO()
    Image.new("RGB", (96, 96), (80, 90, 100)).save(warm, format="PNG")
    warm.seek(0)
    services.verify_upload(fileobj=warm, reviewer=False, actor="bench")
    warm_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    try:
        with open(path, "rb") as handle:
            result = services.verify_upload(fileobj=handle, reviewer=False, actor="bench")
        mark = result.get("watermark") or {}
        code = mark.get("status") or ("found" if mark.get("detected") else "not_found")
    except DomainError as exc:
        code = exc.code
    print(json.dumps({"code": code, "s": time.perf_counter() - started, "warm_mb": warm_mb}), flush=True)


def memory_case(path: Path, timeout: float, data_dir: str) -> dict[str, object]:
    """Verify one file in a fresh process; its peak RSS from wait4, killed after `timeout` seconds."""
    env = {**_env(data_dir), "DATABASE_URL": f"sqlite:///{data_dir}/bench.sqlite3", "REDIS_URL": "",
           "CELERY_BROKER_URL": "memory://"}  # fmt: skip
    env.pop("REDIS_URL")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--one", str(path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - started > timeout:
            proc.kill()
            killed = True
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.1)
    out = proc.stdout.read() if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    row: dict[str, object] = {"peak_mb": usage.ru_maxrss / 1024, "killed": killed}
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if lines:
        row.update(json.loads(lines[-1]))
    else:
        row.update({"code": f"killed after {timeout:g} s" if killed else f"exit {proc.returncode}", "s": None})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a case counts as hung")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--make-files", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one)
        return
    if args.make_files:
        make_files(Path(args.make_files))
        return
    cases = [c for c in args.cases.split(",") if c]
    folder = Path(tempfile.mkdtemp(prefix="talkgate-bench-files-"))
    os.environ.update(_env(str(folder)))
    # In a child: this process stays small, so the processes it starts (whose peak RSS is measured) do not
    # inherit a large high-water mark from it.
    subprocess.run([sys.executable, __file__, "--make-files", str(folder)], cwd=ROOT, check=True)
    files = {case: folder / name for case, name in FILE_NAMES.items()}
    mem_dir = tempfile.mkdtemp(prefix="talkgate-bench-mem-")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True,
                   env={**_env(mem_dir), "DATABASE_URL": f"sqlite:///{mem_dir}/bench.sqlite3",
                        "CELERY_BROKER_URL": "memory://"})  # fmt: skip
    memory = {}
    if not args.no_memory:
        for case in cases:
            memory[case] = memory_case(files[case], args.timeout, mem_dir)
            print(f"  memory {case}: {memory[case]}", flush=True)
    http_rows = {} if args.no_http else run_http(files, cases, args.timeout, folder)
    print(f"\n{os.cpu_count()} CPU cores; timeout {args.timeout:g} s per case\n")
    print(f"| {'file':30} | {'bytes':>7} | {'HTTP status':24} | {'HTTP s':>7} | {'process s':>9} "
          f"| {'peak MB':>7} | {'warm MB':>7} |")  # fmt: skip
    print(f"|{'-' * 32}|{'-' * 9}|{'-' * 26}|{'-' * 9}|{'-' * 11}|{'-' * 9}|{'-' * 9}|")
    for case in cases:
        h, m = http_rows.get(case, {}), memory.get(case, {})
        status = ""
        if h:
            status = f"{h['first']}" + (f" -> {h['final']}" if h["final"] not in (h["first"], "-") else "")
            status += f" {h['code']}" if h.get("code") else ""
        hs = f"{h['s']:.2f}" if h.get("s") is not None else "-"
        ms = f"{m['s']:.2f}" if m.get("s") is not None else str(m.get("code", "-"))[:9]
        peak = f"{m['peak_mb']:.0f}" if m else "-"
        warm = f"{m['warm_mb']:.0f}" if m.get("warm_mb") else "-"
        print(f"| {TITLES[case]:30} | {files[case].stat().st_size:7d} | {status:24} | {hs:>7} | {ms:>9} "
              f"| {peak:>7} | {warm:>7} |")  # fmt: skip


if __name__ == "__main__":
    main()
