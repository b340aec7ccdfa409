"""Optional dependencies: imported where used, with one clear line when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingDependency", "require"]


class MissingDependency(ImportError):
    """An optional extra is not installed; the message names the pip command that fixes it."""


def require(module: str, *, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` naming ``pip install 'alignforge[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pkg = package or module.split(".")[0]
        raise MissingDependency(
            f"{pkg} is needed here but not installed: pip install 'alignforge[{extra}]' ({exc})"
        ) from None
