"""Workflow files: YAML read with the line of every key, so a bad key is named with its line.

:func:`load_doc` reads a file into plain Python values plus a table ``(key, path, ...) -> line``
(built from yaml's node marks, not by a second parse). :class:`Doc` answers ``doc.error(path, msg)``
with one :class:`~alignforge.errors.ConfigError` reading ``FILE:LINE: dotted.key: msg``, and
:meth:`Doc.check_keys` refuses keys a section does not know, listing the ones it does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignforge.errors import ConfigError

__all__ = ["Doc", "load_doc", "dotted"]

Key = tuple[Any, ...]


def dotted(path: Key) -> str:
    """``("dpo", "training", "beta")`` -> ``dpo.training.beta``; list items as ``stages[2]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


@dataclass
class Doc:
    """A workflow file's values and the line of each key (1-based)."""

    path: Path
    data: Any
    lines: dict[Key, int] = field(default_factory=dict)

    def line(self, path: Key) -> int:
        """The line of ``path``'s key, else of its nearest enclosing key that has one (1 at the top)."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return 1

    def error(self, path: Key, message: str) -> ConfigError:
        return ConfigError(f"{self.path}:{self.line(path)}: {dotted(path)}: {message}")

    def get(self, path: Key, default: Any = None) -> Any:
        value: Any = self.data
        for part in path:
            if (
                isinstance(value, dict)
                and part in value
                or isinstance(value, list)
                and isinstance(part, int)
                and part < len(value)
            ):
                value = value[part]
            else:
                return default
        return value

    def section(self, path: Key, allowed: dict[str, str] | set[str] | None = None) -> dict[str, Any]:
        """The mapping at ``path`` ({} when absent or null); with ``allowed``, unknown keys are refused."""
        value = self.get(path)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping, got {type(value).__name__}")
        if allowed is not None:
            self.check_keys(path, value, allowed)
        return value

    def check_keys(self, path: Key, value: dict[str, Any], allowed: dict[str, str] | set[str]) -> None:
        for key in value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error((*path, key), f"unknown key (allowed here: {known})")

    def typed(self, path: Key, types: type | tuple[type, ...], default: Any = None) -> Any:
        """The value at ``path`` checked against ``types`` (bool is never taken for a number)."""
        value = self.get(path, default)
        if value is None:
            return default
        types = types if isinstance(types, tuple) else (types,)
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise self.error(path, f"expected {wanted}, got {type(value).__name__} {value!r}")
        return value

    def file(self, path: Key, *, required: bool = True) -> Path | None:
        """An input file named at ``path``, relative to the workflow file; it must exist."""
        value = self.typed(path, str)
        if value is None:
            if required:
                raise self.error(path, "is required")
            return None
        p = self.resolve(value)
        if not p.exists():
            raise self.error(path, f"input file {p} does not exist")
        return p

    def resolve(self, value: str | os.PathLike[str]) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.path.parent / p).resolve()


def load_doc(path: str | os.PathLike[str]) -> Doc:
    """Read ``path`` as YAML into a :class:`Doc` (values and key lines)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: workflow file not found") from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            lines: dict[Key, int] = {}
            data = _build(node, (), lines, loader, p) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}:1: a workflow file is a mapping (workflow: dpo, ...)")
    return Doc(p.resolve(), data, lines)


def _build(node: Any, path: Key, lines: dict[Key, int], loader: Any, src: Path) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # merge keys (<<: *anchor)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise ConfigError(
                    f"{src}:{key_node.start_mark.line + 1}: {dotted((*path, key))}: duplicate key"
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, (*path, key), lines, loader, src)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            items.append(_build(item, (*path, i), lines, loader, src))
        return items
    return loader.construct_object(node, deep=True)
