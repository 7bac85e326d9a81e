"""The JSON parser every endpoint uses: bounded nesting, and the body must be an object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

# No request body in the API nests deeper than a few levels; the cap keeps recursion (parsing, validation,
# the audit scrubber) far from Python's limit.
MAX_JSON_DEPTH = 32


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers deeper than ``limit``, checked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing over-deep nesting (400 ``malformed_request``) and non-objects."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Mapping | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels.", code="malformed_request") from exc
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels.", code="malformed_request")
        if not isinstance(data, dict):
            # The same answer a serializer gives a non-object (400 validation_error), before any view code runs.
            raise ValidationError({"non_field_errors": ["The JSON body must be an object."]})
        return data
