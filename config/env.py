"""Small helpers that read settings from the environment and fail loudly on bad values.

Every helper accepts ``NAME_FILE`` as an alternative to ``NAME`` (the file's content, stripped, is the
value) so secrets can come from mounted files (Docker/Kubernetes secrets) instead of the process env.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    """Return the raw value of NAME, or of the file named by NAME_FILE, or None when neither is set."""
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if value is not None and file_name is not None:
        raise ImproperlyConfigured(f"Set either {name} or {name}_FILE, not both.")
    if file_name is not None:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return value


def env_str(name: str, default: str | None = None, *, choices: Iterable[str] | None = None) -> str | None:
    """A string setting; with ``choices`` any other value is refused."""
    value = _raw(name)
    if value is None:
        return default
    if choices is not None:
        allowed = list(choices)
        if value not in allowed:
            raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(allowed)}.")
    return value


def env_bool(name: str, default: bool) -> bool:
    """A boolean setting (1/0, true/false, yes/no, on/off)."""
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true/false).")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer setting within optional bounds."""
    value = _raw(name)
    if value is None:
        result = default
    else:
        try:
            result = int(value.strip())
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from exc
    if minimum is not None and result < minimum:
        raise ImproperlyConfigured(f"{name}={result} is below the minimum {minimum}.")
    if maximum is not None and result > maximum:
        raise ImproperlyConfigured(f"{name}={result} is above the maximum {maximum}.")
    return result


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list setting; blanks are dropped."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str | None, *, schemes: Iterable[str]) -> str | None:
    """A URL setting whose scheme must be one of ``schemes``."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    allowed = set(schemes)
    scheme = urlsplit(value).scheme
    if scheme not in allowed:
        raise ImproperlyConfigured(
            f"{name} has scheme {scheme or '(none)'!r}; expected one of {', '.join(sorted(allowed))}."
        )
    return value


def env_int_list(name: str, default: list[int], *, minimum: int = 0) -> list[int]:
    """A comma-separated list of integers, each at least ``minimum``."""
    items = env_list(name, [str(v) for v in default])
    try:
        values = [int(item) for item in items]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be comma-separated integers.") from exc
    if not values or any(v < minimum for v in values):
        raise ImproperlyConfigured(f"{name} needs at least one value, each >= {minimum}.")
    return values


def env_float(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """A float setting within optional bounds."""
    value = _raw(name)
    try:
        result = default if value is None else float(value.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from exc
    if (minimum is not None and result < minimum) or (maximum is not None and result > maximum):
        raise ImproperlyConfigured(f"{name}={result} is outside [{minimum}, {maximum}].")
    return result
