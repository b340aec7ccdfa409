"""The built-in stages, registered by name as ``module:Class`` paths (loaded on first use)."""

from __future__ import annotations

from alignforge.stages.contract import register_stage

BUILTIN: dict[str, str] = {}

for _name, _path in BUILTIN.items():
    register_stage(_path, name=_name)
