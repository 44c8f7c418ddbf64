"""Bounded input types shared by every router: ids that fit the id columns, strings without control
characters. The rules themselves are in domain/validate.py; these types make FastAPI and the
OpenAPI document apply them, so a bad value is a 422 before any handler runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field, StringConstraints

from townsquare.domain.validate import LINE_PATTERN, MAX_ID, TEXT_PATTERN

# A name, an address, a key: no control character at all.
Line = Annotated[str, StringConstraints(pattern=LINE_PATTERN)]
# Comment-like text: tab, line feed and carriage return allowed.
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]

# Ids in JSON bodies (strict: `true` is not 1), in paths, in queries, and in forms (whose values
# arrive as text).
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int, Query(ge=0, le=MAX_ID)]
FormId = Annotated[int, Field(ge=1, le=MAX_ID)]
