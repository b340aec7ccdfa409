"""Backend options: a dataclass per backend; unknown keys and wrong types are a ConfigError."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from alignforge.errors import ConfigError

T = TypeVar("T")


def parse_options(cls: type[T], backend: str, options: dict[str, Any]) -> T:
    """Build ``cls`` from ``options``; a key ``cls`` does not declare is refused, naming the allowed ones.

    Strings are converted to the declared int/float/bool type (so CLI ``--option k=v`` works).
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ConfigError(
            f"backend {backend!r} has no option {unknown[0]!r}; allowed: {', '.join(sorted(fields)) or '(none)'}"
        )
    values = {k: _coerce(backend, k, v, hints[k]) for k, v in options.items()}
    return cls(**values)


def _coerce(backend: str, key: str, value: Any, hint: Any) -> Any:
    allowed = _base_types(hint)
    if value is None and type(None) in allowed:
        return None
    for typ in (bool, int, float):
        if typ in allowed and isinstance(value, str):
            try:
                if typ is bool:
                    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(value)
                    return value.lower() in ("true", "1", "yes")
                return typ(value)
            except ValueError:
                continue
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tuple in allowed and isinstance(value, str) and "," in value:
        return tuple(float(x) for x in value.split(","))
    if tuple in allowed and isinstance(value, list):
        return tuple(value)
    if any(
        isinstance(value, t) and not (t is int and isinstance(value, bool)) for t in allowed if t is not Any
    ):
        return value
    names = " or ".join(getattr(t, "__name__", str(t)) for t in allowed)
    raise ConfigError(f"backend {backend!r} option {key!r} must be {names}, got {value!r}")


def _base_types(hint: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(hint):
            out.extend(_base_types(arg))
        return tuple(out)
    if origin is not None:
        return (origin,)
    return (hint,)
