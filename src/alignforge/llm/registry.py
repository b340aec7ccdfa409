"""Backends by name: ``get_llm("openai:gpt-4o-mini", base_url=...)``; built-ins register like plugins.

A spec is ``name`` or ``name:model``. The factory for ``name`` is called as
``factory(model, **options)``; it must refuse options it does not know (see
:func:`alignforge.llm._options.parse_options`) with a :class:`ConfigError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from alignforge.errors import ConfigError
from alignforge.llm.base import LLM

__all__ = ["register_backend", "get_llm", "llm_for_estimate", "backends", "BackendFactory"]

BackendFactory = Callable[..., LLM]
_FACTORIES: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory, *, replace: bool = False) -> None:
    """Make ``get_llm("name:model", **options)`` call ``factory(model, **options)``."""
    if not name or ":" in name:
        raise ConfigError(f"backend name must be non-empty and contain no ':', got {name!r}")
    if name in _FACTORIES and not replace:
        raise ConfigError(f"backend {name!r} is already registered (pass replace=True to override it)")
    _FACTORIES[name] = factory


def backends() -> list[str]:
    """Names of the registered backends."""
    return sorted(_FACTORIES)


def get_llm(spec: str, *, cache: str | os.PathLike[str] | None = None, **options: Any) -> LLM:
    """The backend for ``spec``, optionally wrapped in a SQLite request cache at ``cache``.

    ``"local"`` is the embedded SmolLM2-135M-Instruct; ``"local:/path"`` any Hugging Face
    checkpoint folder; ``"openai:<model>"`` any OpenAI-compatible server (``base_url``,
    ``api_key`` or ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``); ``"anthropic:<model>"``.
    """
    name, _, model = spec.partition(":")
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ConfigError(f"unknown LLM backend {name!r} in {spec!r}; known: {', '.join(backends())}")
    llm = factory(model, **options)
    if cache is not None:
        from alignforge.llm.cache import CachedLLM

        llm = CachedLLM(llm, cache)
    return llm


def llm_for_estimate(spec: str, *, cache: str | os.PathLike[str] | None = None, **options: Any) -> LLM:
    """The backend for ``spec`` as :func:`get_llm` builds it (options checked, price known), for a dry run.

    Nothing is sent through it, so a missing API key is replaced by a placeholder, and the cache is
    read only if ``cache`` already exists (a dry run creates no file).
    """
    from alignforge.llm._options import MissingCredentials

    try:
        llm = get_llm(spec, **options)
    except MissingCredentials:
        llm = get_llm(spec, **{**options, "api_key": "dry-run"})
    if cache is not None and os.path.exists(cache):
        from alignforge.llm.cache import CachedLLM

        llm = CachedLLM(llm, cache)
    return llm


def _local(model: str, **options: Any) -> LLM:
    from alignforge.llm.local import LocalLLM

    return LocalLLM(model or None, **options)


def _openai(model: str, **options: Any) -> LLM:
    if not model:
        raise ConfigError("openai backend needs a model: openai:<model>, e.g. openai:gpt-4o-mini")
    from alignforge.llm.openai_backend import OpenAILLM

    return OpenAILLM(model, **options)


def _anthropic(model: str, **options: Any) -> LLM:
    if not model:
        raise ConfigError(
            "anthropic backend needs a model: anthropic:<model>, e.g. anthropic:claude-sonnet-4-5"
        )
    from alignforge.llm.anthropic_backend import AnthropicLLM

    return AnthropicLLM(model, **options)


register_backend("local", _local)
register_backend("openai", _openai)
register_backend("anthropic", _anthropic)
