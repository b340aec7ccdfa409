"""Errors a user can act on. The CLI prints them as one line and exits non-zero."""

from __future__ import annotations

__all__ = ["AlignforgeError", "ConfigError", "GateFailure"]


class AlignforgeError(Exception):
    """A known failure with a message that says what to do; exit code 2 unless stated."""

    exit_code = 2


class ConfigError(AlignforgeError):
    """A config or gates file is invalid (the message names the file and the key)."""


class GateFailure(AlignforgeError):
    """A quality gate failed where the caller asked to stop on failure."""

    exit_code = 1
