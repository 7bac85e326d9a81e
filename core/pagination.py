"""Cursor pagination that answers a bad cursor with 400 instead of DRF's 404."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound as DrfNotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from core.errors import DomainError


class Cursor(CursorPagination):
    """Newest first; ``?cursor=`` and ``?page_size=`` (max 500)."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = "-created_at"

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except DrfNotFound as exc:
            raise DomainError("The cursor is not valid; start again without it.", code="invalid_cursor") from exc


class IdCursor(Cursor):
    """For append-only tables, where the id is the stable order."""

    ordering = "-id"
