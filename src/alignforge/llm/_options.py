"""Backend options: a dataclass per backend; unknown keys and wrong types are a ConfigError."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

from alignforge.errors import ConfigError

__all__ = ["parse_options", "parse_cli_options", "MissingCredentials"]

T = TypeVar("T")


class MissingCredentials(ConfigError):
    """A backend has no API key. A dry run sends nothing, so it prices the run with a placeholder key."""


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


def parse_cli_options(items: Iterable[str], *, flag: str = "--option") -> dict[str, Any]:
    """``["price=[2.5,10]", "concurrency=8"]`` -> ``{"price": [2.5, 10], "concurrency": 8}``.

    Each value is read as YAML (a scalar or a flow list); the backend then checks the keys and types.
    """
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE, e.g. {flag} concurrency=8")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"{flag} {item!r}: the value is not valid YAML ({first})") from None
        if isinstance(value, dict):
            raise ConfigError(f"{flag} {item!r}: expected a scalar or a list, got a mapping")
        out[key] = value
    return out


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
    if str in allowed and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a YAML number where text is expected (an API key of digits)
    if tuple in allowed and isinstance(value, str | list | tuple):
        return _tuple(backend, key, value, hint)
    if any(
        isinstance(value, t) and not (t is int and isinstance(value, bool)) for t in allowed if t is not Any
    ):
        return value
    names = " or ".join(getattr(t, "__name__", str(t)) for t in allowed)
    raise ConfigError(f"backend {backend!r} option {key!r} must be {names}, got {value!r}")


def _tuple(backend: str, key: str, value: str | list[Any] | tuple[Any, ...], hint: Any) -> tuple[Any, ...]:
    """A fixed-length tuple of numbers (``price``) from ``[a, b]`` or ``"a,b"``, its length checked."""
    items = [x.strip() for x in value.split(",")] if isinstance(value, str) else list(value)
    args = next(
        (typing.get_args(a) for a in (hint, *typing.get_args(hint)) if typing.get_origin(a) is tuple), ()
    )
    if args and Ellipsis not in args and len(items) != len(args):
        raise ConfigError(
            f"backend {backend!r} option {key!r} must be {len(args)} values, e.g. [2.5, 10]; got {value!r}"
        )
    try:
        return tuple(float(x) for x in items)
    except (TypeError, ValueError):
        raise ConfigError(f"backend {backend!r} option {key!r} must be numbers, got {value!r}") from None


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
