"""One schema machinery for every set of parameters (issue #16: one owner per concept).

Each stage owns its parameter class, derived from :class:`Params` (``prepare.PrepareParams``,
``explore.ExploreParams``, ...); the study file (``twolevel.pipeline.config``), the lattice
file (``twolevel.lattice.config``), the command line and the Python API all validate through
those classes, so a default or a bound is written once. Validation is strict (no silent
coercion of ``"200"`` to 200), unknown keys are refused with a suggestion, and non-finite
numbers (inf, nan) are refused everywhere (``allow_inf_nan=False``).

:func:`config_error` turns a pydantic ``ValidationError`` into one line naming the key path;
:meth:`Params.build` does the same for keyword arguments of an API call.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError

__all__ = ["Params", "PosFloat", "config_error"]

PosFloat = Annotated[float, Field(gt=0)]


class Params(BaseModel):
    """Base of every parameter table: strict, closed (unknown keys refused), finite numbers only."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, allow_inf_nan=False)

    @classmethod
    def build(cls, where: str, /, **kw: Any):
        """Validate keyword arguments (numpy scalars accepted) into an instance; a bad one raises one
        InputError line ``where: key: problem``."""
        kw = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in kw.items()}
        try:
            return cls.model_validate(kw)
        except ValidationError as exc:
            raise config_error(exc, where, cls) from None

    @classmethod
    def merged(cls, where: str, params: Any = None, /, **overrides: Any):
        """``params`` (an instance of this class or None) with keyword overrides, validated in one
        place: the calling convention of every stage API (``fn(..., params=None, **overrides)``)."""
        if params is not None and not isinstance(params, cls):
            raise InputError(f"{where}: params must be a {cls.__name__} or None, got {type(params).__name__}")
        base = params.model_dump(exclude_unset=True) if params is not None else {}
        return cls.build(where, **{**base, **overrides})


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # pydantic adds the union member / literal tag to the location of union errors
            if part in ("int", "float", "str", "list[int]", "bool") or part.startswith(("literal[", "function-", "list[")):
                continue
            out += ("." if out else "") + str(part)
    return out


def _allowed_keys(model_cls, loc: tuple) -> list[str]:
    cls = model_cls
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        f = getattr(cls, "model_fields", {}).get(part)
        if f is None:
            return []
        ann = f.annotation
        nxt = None
        for cand in getattr(ann, "__args__", ()) or (ann,):
            for c in (cand, *getattr(cand, "__args__", ())):
                if isinstance(c, type) and issubclass(c, BaseModel):
                    nxt = c
        if nxt is None:
            return []
        cls = nxt
    return list(getattr(cls, "model_fields", {}))


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


_TYPE_WORDS = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "string_type": "a string",
    "bool_type": "true or false", "bool_parsing": "true or false", "list_type": "a list (TOML array)",
    "dict_type": "a table", "model_type": "a table", "model_attributes_type": "a table",
}


def _message(err: dict, root_cls) -> tuple[str, str]:
    """(key path, message) for one pydantic error."""
    typ = err["type"]
    loc = err["loc"]
    path = _loc(loc)
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if typ == "extra_forbidden":
        allowed = _allowed_keys(root_cls, loc)
        name = str(loc[-1])
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (f"; allowed: {', '.join(allowed)}" if allowed else "")
        return path, f"unknown key{hint}"
    if typ == "missing":
        return path, "required key is missing"
    if typ in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[typ]
        bound = next(iter(ctx.values())) if ctx else "?"
        return path, f"must be {op} {bound} (got {_short(got)})"
    if typ in ("too_short", "too_long"):
        return path, f"must have {'at least' if typ == 'too_short' else 'at most'} {ctx.get('min_length', ctx.get('max_length'))} item(s)"
    if typ in ("literal_error", "enum"):
        return path, f"must be one of {ctx.get('expected', '?')} (got {_short(got)})"
    if typ in _TYPE_WORDS:
        return path, f"must be {_TYPE_WORDS[typ]} (got {type(got).__name__} {_short(got)})"
    if typ == "value_error":
        msg = str(ctx.get("error", err["msg"]))
        m = re.match(r"^(\[\d+\]|[A-Za-z_][\w.\[\]]*:)\s*(.*)$", msg)
        if m and m.group(1).startswith("["):
            return path + m.group(1), m.group(2)
        if m and msg.split(":", 1)[0] and not msg.startswith(("must", "give")):
            key, rest = msg.split(":", 1)
            if re.fullmatch(r"[\w.\[\]]+", key):
                return (path + "." if path else "") + key, rest.strip()
        return path or "config", msg
    if typ == "finite_number":
        return path, f"must be a finite number (got {_short(got)})"
    if typ == "string_pattern_mismatch":
        return path, f"does not match {ctx.get('pattern')}"
    return path or "config", err["msg"].lower()


def config_error(exc: ValidationError, source: str = "config", root_cls=None) -> InputError:
    """Turn a pydantic ValidationError into one line naming the key path (first error; count of others).

    The one error formatter of the package: the study file, the lattice file and every stage's
    keyword arguments go through it, so the same mistake reads the same everywhere.
    """
    errs = exc.errors(include_url=False)
    # union members produce one error per member; keep the most specific (a value error beats a type error)
    def rank(e):
        return (0 if e["type"] in ("value_error", "finite_number", "greater_than", "greater_than_equal", "less_than", "less_than_equal",
                                   "extra_forbidden", "missing", "literal_error") else 1, len(e["loc"]))
    first = sorted(errs, key=rank)[0]
    path, msg = _message(first, root_cls)
    others = len({_message(e, root_cls)[0] for e in errs} - {path})
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
    return InputError(f"{source}: {path}: {msg}{more}")
