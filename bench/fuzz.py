"""Schema fuzzing benchmark: the CI fuzz test (tests/config/test_schema_fuzz.py) with many more examples.

    .venv/bin/python bench/fuzz.py [--examples 60]

Every operation of /api/schema/ is called with a partner key and a reviewer key on the local PostgreSQL and
Redis (``BENCH_DATABASE_URL`` / ``BENCH_REDIS_URL`` to change them); prints requests, status codes, 5xx and
schema violations per operation, then the totals. Exits non-zero when anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    """Run the fuzz test with more examples and print one row per operation."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=60, help="examples per operation (CI uses 6)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "fuzz.json"
        env = {
            **os.environ,
            "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/talkgate_bench"),
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
            "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13"),
            "TALKGATE_DATA_DIR": os.environ.get("TALKGATE_DATA_DIR", str(Path(tmp) / "data")),
            "TALKGATE_FUZZ_EXAMPLES": str(args.examples),
            "TALKGATE_FUZZ_REPORT": str(report),
        }
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/config/test_schema_fuzz.py", "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if not report.exists():
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
            return 1
        data = json.loads(report.read_text())
    failures_by_op: dict[str, int] = {}
    for failure in data["failures"]:
        failures_by_op[failure["operation"]] = failures_by_op.get(failure["operation"], 0) + 1
    print("| operation | requests | status codes | 5xx | schema failures |\n|---|---|---|---|---|")
    for label, counts in sorted(data["statuses"].items()):
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(counts.items()))
        server = sum(n for code, n in counts.items() if int(code) >= 500)
        print(f"| {label} | {sum(counts.values())} | {codes} | {server} | {failures_by_op.get(label, 0)} |")
    print(
        f"\n{len(data['statuses'])} operations, {data['examples']} examples each, {data['requests']} requests, "
        f"{data['server_errors']} 5xx, {len(data['failures'])} schema failures, {elapsed:.0f} s"
    )
    for failure in data["failures"][:20]:
        print(f"  {failure['operation']} ({failure['role']}) -> {failure['status']}: {failure['error']}")
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
