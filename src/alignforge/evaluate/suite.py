"""Benchmark several checkpoints in one run: the RLVR guide's ``benchmark.yaml``.

Sections (the seed's, as written): ``model.checkpoints`` (folders, ``local`` for the embedded model,
or backend specs such as ``openai:<model>``), ``data.prompts`` (a full task file, or a prompts file
with ``data.tests``), ``benchmark.samples_per_problem`` and ``benchmark.k_values`` (plus
``temperature``, ``max_tokens``, ``limit``), ``verifier.type`` / ``dataset_type`` / ``timeout``.
Every checkpoint is scored by :func:`score_checkpoint` (the ``evaluate.checkpoint`` stage: a finished
checkpoint's scores are reused) into its own folder; one ``report.json``
holds pass@k per checkpoint. Missing checkpoints are reported all at once, before any work.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from alignforge.errors import ConfigError

__all__ = ["BenchmarkConfig", "load_benchmark_config", "score_checkpoints"]

_NUM = (int, float)
# section -> key -> (types, default); _REQUIRED marks keys the file must give
_REQUIRED = object()
_SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "model": {"checkpoints": ((list,), _REQUIRED)},
    "data": {"prompts": ((str,), _REQUIRED), "tests": ((str,), None)},
    "benchmark": {
        "samples_per_problem": ((int,), 10),
        "k_values": ((list,), [1, 5, 10]),
        "temperature": (_NUM, 0.8),
        "max_tokens": ((int,), 384),
        "limit": ((int,), None),
    },
    "verifier": {"type": ((str,), "rlvr_pytest"), "dataset_type": ((str,), None), "timeout": (_NUM, 5.0)},
}
_VERIFIERS = {"rlvr_pytest": "code", "code_tests": "code", "math": "math"}


@dataclass
class BenchmarkConfig:
    """A validated ``benchmark.yaml``: the checkpoints as written and the backend spec of each."""

    source: str
    checkpoints: list[str]
    specs: list[str]
    prompts: str
    tests: str | None
    samples_per_problem: int
    k_values: list[int]
    temperature: float
    max_tokens: int
    limit: int | None
    verifier: dict[str, Any] = field(default_factory=dict)


def load_benchmark_config(
    path: str | os.PathLike[str], *, overrides: dict[str, Any] | None = None
) -> BenchmarkConfig:
    """Read and check ``benchmark.yaml``; relative paths are tried from the working directory, then
    from the config's folder. Raises one ConfigError naming every checkpoint that does not exist."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a mapping of sections ({', '.join(_SCHEMA)})")
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if not isinstance(raw.setdefault(section, {}), dict):
            raise ConfigError(f"{path}: section {section!r} must be a mapping")
        raw[section][key] = value
    cfg = {name: _section(path, name, raw.get(name) or {}) for name in _SCHEMA}
    unknown = sorted(set(raw) - set(_SCHEMA))
    if unknown:
        raise ConfigError(f"{path}: unknown section {unknown[0]!r} (sections: {', '.join(_SCHEMA)})")
    b, v = cfg["benchmark"], cfg["verifier"]
    ks = b["k_values"]
    if not ks or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in ks):
        raise ConfigError(f"{path}: benchmark.k_values must be a list of integers >= 1, got {ks!r}")
    if max(ks) > b["samples_per_problem"]:
        raise ConfigError(
            f"{path}: benchmark.k_values {ks} needs samples_per_problem >= {max(ks)} "
            f"(got {b['samples_per_problem']})"
        )
    if v["type"] not in _VERIFIERS:
        raise ConfigError(f"{path}: verifier.type {v['type']!r} is not one of {', '.join(_VERIFIERS)}")
    if v["dataset_type"] not in (None, "humaneval", "mbpp"):
        raise ConfigError(
            f"{path}: verifier.dataset_type {v['dataset_type']!r} is not one of humaneval, mbpp"
        )
    names = cfg["model"]["checkpoints"]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{path}: model.checkpoints must be a list of folder names or backend specs")
    specs, missing = [], []
    for name in names:
        spec = _spec(name, path.parent)
        if spec is None:
            missing.append(name)
        specs.append(spec or "")
    if missing:
        raise ConfigError(
            f"{path}: model.checkpoints: {len(missing)} of {len(names)} not found: {', '.join(missing)} "
            "(train them first, or --set model.checkpoints=[...] with existing folders or local)"
        )
    slugs = [_slug(n) for n in names]
    if len(set(slugs)) != len(slugs):
        raise ConfigError(f"{path}: model.checkpoints names the same checkpoint twice: {names}")
    d = cfg["data"]
    return BenchmarkConfig(
        source=str(path),
        checkpoints=list(names),
        specs=specs,
        prompts=_file(d["prompts"], path.parent),
        tests=_file(d["tests"], path.parent) if d["tests"] else None,
        samples_per_problem=b["samples_per_problem"],
        k_values=list(ks),
        temperature=float(b["temperature"]),
        max_tokens=b["max_tokens"],
        limit=b["limit"],
        verifier=dict(v),
    )


def _section(path: Path, name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ConfigError(f"{path}: section {name!r} must be a mapping")
    schema = _SCHEMA[name]
    out = {}
    for key, value in body.items():
        if key not in schema:
            raise ConfigError(f"{path}: {name}.{key}: unknown key (allowed in {name}: {', '.join(schema)})")
        types = schema[key][0]
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            wanted = " or ".join(t.__name__ for t in types)
            raise ConfigError(
                f"{path}: {name}.{key}: expected {wanted}, got {type(value).__name__} {value!r}"
            )
    for key, (_types, default) in schema.items():
        value = body.get(key)
        if value is None and default is _REQUIRED:
            raise ConfigError(f"{path}: {name}.{key} is required (or --set {name}.{key}=...)")
        out[key] = default if value is None else value
    return out


def _file(name: str, base: Path) -> str:
    """As written when it exists from the working directory, else beside the config."""
    if Path(name).exists() or Path(name).is_absolute() or not (base / name).exists():
        return name
    return str(base / name)


def _spec(name: str, base: Path) -> str | None:
    """The backend spec for a checkpoint entry, or None when its folder does not exist."""
    from alignforge.llm import backends

    if name in ("local", "embedded"):
        return "local"
    backend, sep, rest = name.partition(":")
    if sep and backend in backends():
        return name if backend != "local" or Path(rest).is_dir() else None
    for folder in (Path(name), base / name):
        if folder.is_dir():
            return f"local:{folder.resolve()}"
    return None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.") or "checkpoint"


def score_checkpoints(
    cfg: BenchmarkConfig, out_dir: str | os.PathLike[str], *, workers: int | None = None
) -> dict[str, Any]:
    """Score every checkpoint (``<out_dir>/<checkpoint>/``) and write ``<out_dir>/report.json``.

    The tasks are read and checked once, before any checkpoint loads; each checkpoint's samples are
    cached in its folder, so a rerun repeats no finished generation.
    """
    from alignforge.evaluate.checkpoint import score_checkpoint
    from alignforge.evaluate.tasks import read_tasks
    from alignforge.io import write_jsonl
    from alignforge.verify.tasks import task_domain

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    v = cfg.verifier
    tasks = read_tasks(cfg.prompts, cfg.tests, dataset_type=v["dataset_type"])
    want = _VERIFIERS[v["type"]]
    wrong = [t["task_id"] for t in tasks if (task_domain(t) == "code") != (want == "code")][:3]
    if wrong:
        raise ConfigError(
            f"{cfg.source}: verifier.type {v['type']} needs {want} tasks; {cfg.prompts} has others: {wrong}"
        )
    tasks_file = out / "tasks.jsonl"  # the tasks as scored (prompts joined with their tests)
    write_jsonl(tasks_file, tasks)
    per: dict[str, Any] = {}
    for name, spec in zip(cfg.checkpoints, cfg.specs, strict=True):
        sub = out / _slug(name)
        r = score_checkpoint(
            spec,
            tasks_file,
            sub,
            n=cfg.samples_per_problem,
            ks=cfg.k_values,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            limit=cfg.limit,
            workers=workers,
            timeout_s=float(v["timeout"]),
        )
        per[name] = {
            "model": spec,
            "dir": str(sub),
            "pass_at_k": {f"pass@{k}": r.overall[f"pass@{k}"] for k in cfg.k_values},
            "statuses": r.statuses,
            "failed_generations": r.failed_generations,
        }
    report = {
        "config": cfg.source,
        "tasks": cfg.prompts,
        "tests": cfg.tests,
        "n_tasks": min(len(tasks), cfg.limit) if cfg.limit else len(tasks),
        "samples_per_problem": cfg.samples_per_problem,
        "k_values": cfg.k_values,
        "temperature": cfg.temperature,
        "verifier": v,
        "checkpoints": per,
    }
    (out / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report
