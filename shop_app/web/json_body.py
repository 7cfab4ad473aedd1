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


class _NotJson(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"{text[:40]} is too large for a number")
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


def parse_json(raw: bytes | str, *, example: str) -> Any:
    """`raw` parsed; raises ValidationError (400) whose message says what is wrong and shows `example`."""
    hint = f"; send JSON like {example}"
    try:
        value = json.loads(raw, parse_constant=_constant, parse_float=_finite)
    except RecursionError:
        raise ValidationError(
            f"the JSON body is nested too deeply (at most {MAX_DEPTH} levels){hint}"
        ) from None
    except _NotJson as err:
        raise ValidationError(f"the JSON body is not valid: {err}{hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as err:
        reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8 text or an oversized number"
        raise ValidationError(f"the body is not valid JSON ({reason}){hint}") from None
    if _depth(value) > MAX_DEPTH:
        raise ValidationError(f"the JSON body is nested too deeply (at most {MAX_DEPTH} levels){hint}")
    return value


async def read_json(request: Request, *, example: str) -> Any:
    return parse_json(await request.body(), example=example)
