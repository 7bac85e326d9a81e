"""The request context: what the request being served knows about itself; the job a pipeline task works on."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


@dataclass
class RequestContext:
    """What the current request knows about itself; authentication fills in the actor and partner."""

    request_id: str
    actor: str = "anonymous"
    # What the client sent as X-Request-ID (kept apart: clients may reuse or forge ids).
    client_request_id: str = ""
    partner_id: UUID | None = None
    client_ip: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("talkgate_request", default=None)


def current_context() -> RequestContext | None:
    """The context of the request being served, or None outside a request (tasks, commands)."""
    return _current.get()


def set_context(ctx: RequestContext | None) -> contextvars.Token[RequestContext | None]:
    """Make ``ctx`` the current request's context; returns the token that undoes it."""
    return _current.set(ctx)


def reset_context(token: contextvars.Token[RequestContext | None]) -> None:
    """Restore the context that was current before ``set_context``."""
    _current.reset(token)


# The job a pipeline task is working on, so every log line it writes names the job (core.logs reads it).
_job: contextvars.ContextVar[str | None] = contextvars.ContextVar("talkgate_job", default=None)


def current_job_id() -> str | None:
    """The id of the job the running task works on, or None."""
    return _job.get()


@contextlib.contextmanager
def job_scope(job_id: object) -> Iterator[None]:
    """Name ``job_id`` as the current job for the duration of the block."""
    token = _job.set(str(job_id))
    try:
        yield
    finally:
        _job.reset(token)
