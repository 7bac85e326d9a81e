"""Settings for benchmarks: the real settings plus one trivial view that serves as the ceiling."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
