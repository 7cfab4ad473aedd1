"""Reading a JSON request body strictly: what Python's json module accepts but no JSON peer can carry
(NaN, Infinity, numbers that overflow to infinity) and bodies nested deeper than any of our APIs need are
refused with a 400 naming the problem, instead of failing later (a 500 in a comparison, a column, a
re-serialisation). The body's size is already bounded by the body-limit middleware."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from shop_app.errors import ValidationError

MAX_DEPTH = 32


class JsonRefused(json.JSONDecodeError):
    """Valid for Python's json module, refused here; a JSONDecodeError, so `except ValueError` and
    `except json.JSONDecodeError` clauses of callers treat it as the invalid JSON it is for any peer."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "", 0)
        self.reason = message


def _constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"{text[:40]} is too large for a number")
    return value


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk would itself hit the recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def strict_loads(raw: bytes | str) -> Any:
    """json.loads that refuses NaN, Infinity, overflowing numbers and nesting deeper than MAX_DEPTH.
    Raises json.JSONDecodeError (JsonRefused for those), UnicodeDecodeError or ValueError."""
    try:
        value = json.loads(raw, parse_constant=_constant, parse_float=_finite)
    except RecursionError:
        raise JsonRefused(f"nested too deeply (at most {MAX_DEPTH} levels)") from None
    if _depth(value) > MAX_DEPTH:
        raise JsonRefused(f"nested too deeply (at most {MAX_DEPTH} levels)")
    return value


def parse_json(raw: bytes | str, *, example: str) -> Any:
    """`raw` parsed; raises ValidationError (400) whose message says what is wrong and shows `example`."""
    hint = f"; send JSON like {example}"
    try:
        return strict_loads(raw)
    except JsonRefused as err:
        raise ValidationError(f"the JSON body is not valid: {err.reason}{hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8 text or an oversized number"
        raise ValidationError(f"the body is not valid JSON ({reason}){hint}") from None


async def read_json(request: Request, *, example: str) -> Any:
    return parse_json(await request.body(), example=example)
