"""The seed's W&B sweep_config.yaml: the translation table, its refusals, grid, and the CLI's bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from alignforge.errors import ConfigError
from alignforge.sweep.space import load_space, parse_space

SEED = """\
# sweep_config.yaml
program: train_dpo.py
method: bayes
metric:
  name: validation/win_rate
  goal: maximize
parameters:
  learning_rate:
    distribution: log_uniform_values
    min: 1e-7
    max: 1e-5
  beta:
    distribution: uniform
    min: 0.05
    max: 0.3
  batch_size:
    values: [2, 4, 8]
  warmup_ratio:
    distribution: uniform
    min: 0.05
    max: 0.15
"""


def _space(params: dict, method: str = "random") -> str:
    return yaml.safe_dump(
        {"method": method, "metric": {"name": "validation/margin", "goal": "maximize"}, "parameters": params}
    )


def test_the_seeds_file_reads_as_written() -> None:
    spec = parse_space(SEED)
    assert (spec.method, spec.metric, spec.goal) == ("bayes", "validation/win_rate", "maximize")
    lr = spec.params["learning_rate"]
    # YAML 1.1 reads 1e-7 as a string; it is a number here.
    assert (lr.kind, lr.low, lr.high, lr.log) == ("float", 1e-7, 1e-5, True)
    assert spec.params["batch_size"].choices == (2, 4, 8)
    assert spec.params["beta"].to_optuna().low == 0.05
    assert any("program: 'train_dpo.py' is not run" in n for n in spec.notes)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # W&B name      -> (kind, low, high, log, step, choices)
        ({"value": 3}, ("categorical", None, None, False, None, (3,))),
        ({"distribution": "constant", "value": "x"}, ("categorical", None, None, False, None, ("x",))),
        ({"values": [1, 2]}, ("categorical", None, None, False, None, (1, 2))),
        ({"distribution": "categorical", "values": ["a"]}, ("categorical", None, None, False, None, ("a",))),
        ({"min": 1, "max": 8}, ("int", 1, 8, False, None, ())),  # integer bounds default to int_uniform
        ({"distribution": "int_uniform", "min": 2, "max": 5}, ("int", 2, 5, False, None, ())),
        ({"min": 0.1, "max": 0.5}, ("float", 0.1, 0.5, False, None, ())),  # float bounds: uniform
        ({"distribution": "uniform", "min": 0, "max": 1}, ("float", 0.0, 1.0, False, None, ())),
        ({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25}, ("float", 0.0, 1.0, False, 0.25, ())),
        ({"distribution": "q_uniform", "min": 0, "max": 4}, ("float", 0.0, 4.0, False, 1.0, ())),
        (
            {"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-3},
            ("float", 1e-6, 1e-3, True, None, ()),
        ),
    ],
)
def test_translation_table(body: dict, expected: tuple) -> None:
    p = parse_space(_space({"p": body})).params["p"]
    assert (p.kind, p.low, p.high, p.log, p.step, p.choices) == expected


def test_log_uniform_takes_natural_log_bounds() -> None:
    lo, hi = math.log(1e-7), math.log(1e-5)  # -16.118..., -11.512...
    p = parse_space(_space({"lr": {"distribution": "log_uniform", "min": lo, "max": hi}})).params["lr"]
    assert p.log and p.low == pytest.approx(1e-7, rel=1e-12) and p.high == pytest.approx(1e-5, rel=1e-12)
    dist = p.to_optuna()
    assert dist.log and dist.low == pytest.approx(1e-7) and dist.high == pytest.approx(1e-5)
    # 0 and 1 are e**0 = 1 and e**1 = 2.718..., not 0 and 1.
    q = parse_space(_space({"x": {"distribution": "log_uniform", "min": 0, "max": 1}})).params["x"]
    assert (q.low, q.high) == (1.0, pytest.approx(math.e))


def test_log_uniform_with_value_like_bounds_says_what_it_samples() -> None:
    spec = parse_space(_space({"lr": {"distribution": "log_uniform", "min": 1e-7, "max": 1e-5}}))
    assert spec.params["lr"].low == pytest.approx(1.0000001)
    assert any("natural-log bounds" in n and "log_uniform_values" in n for n in spec.notes)


def test_sampled_values_respect_the_translation(tmp_path: Path) -> None:
    import optuna

    spec = parse_space(
        _space(
            {
                "lr": {"distribution": "log_uniform", "min": math.log(1e-6), "max": math.log(1e-4)},
                "q": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25},
                "n": {"min": 1, "max": 3},
            }
        )
    )
    dists = {name: p.to_optuna() for name, p in spec.params.items()}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = []
    for _ in range(40):
        trial = study.ask(dists)
        seen.append(trial.params)
        study.tell(trial, 0.0)
    assert all(1e-6 <= s["lr"] <= 1e-4 for s in seen)
    assert {s["q"] for s in seen} <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert {s["n"] for s in seen} == {1, 2, 3}
    # log scale: about half the draws fall below the geometric midpoint 1e-5
    below = sum(s["lr"] < 1e-5 for s in seen)
    assert 8 <= below <= 32


def test_grid_values() -> None:
    spec = parse_space(
        _space(
            {
                "beta": {"values": [0.1, 0.2]},
                "n": {"distribution": "int_uniform", "min": 1, "max": 3},
                "w": {"distribution": "q_uniform", "min": 0.0, "max": 0.1, "q": 0.05},
            },
            method="grid",
        )
    )
    assert spec.grid_space() == {"beta": [0.1, 0.2], "n": [1, 2, 3], "w": [0.0, 0.05, 0.1]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            _space({"b": {"distribution": "uniform", "min": 0, "max": 1}}, method="grid"),
            r":6: parameters\.b: grid search needs discrete",
        ),
        (
            _space({"b": {"distribution": "normal", "mu": 0, "sigma": 1}}),
            r"parameters\.b\.distribution: normal is not supported",
        ),
        (
            _space({"b": {"distribution": "q_log_uniform_values", "min": 1, "max": 9}}),
            "step with a log scale",
        ),
        (_space({"b": {"distribution": "inv_log_uniform_values", "min": 1, "max": 9}}), "inverse-log"),
        (
            _space({"b": {"distribution": "lognormal", "min": 1, "max": 9}}),
            "unknown distribution 'lognormal'",
        ),
        (_space({"b": {"values": [1, 2], "probabilities": [0.5, 0.5]}}), r"parameters\.b\.probabilities"),
        (
            _space({"b": {"distribution": "uniform", "min": 1, "max": 0}}),
            r"parameters\.b\.max: max \(0\) must be greater",
        ),
        (
            _space({"b": {"distribution": "uniform", "min": "low", "max": 1}}),
            r"parameters\.b\.min: expected a number, got 'low'",
        ),
        (
            _space({"b": {"distribution": "uniform", "min": 0, "max": 1, "q": 2}}),
            r"parameters\.b\.q: not a key of uniform",
        ),
        (_space({"b": {"distribution": "log_uniform_values", "min": 0, "max": 1}}), "needs min > 0"),
        (_space({"b": {"distribution": "int_uniform", "min": 0.5, "max": 3}}), "integer bounds"),
        (_space({"b": {"parameters": {"c": {"value": 1}}}}), "nested parameters"),
        (_space({"b": {"values": [[1, 2]]}}), "item 0: expected a number"),
        (
            "method: hyperband\nmetric: {name: validation/margin, goal: maximize}\nparameters: {b: {value: 1}}\n",
            r":1: method: expected one of bayes",
        ),
        (
            "method: bayes\nmetric: {name: loss, goal: maximize}\nparameters: {b: {value: 1}}\n",
            r":2: metric\.name: expected one of",
        ),
        (
            "method: bayes\nmetric: {name: validation/margin}\nparameters: {b: {value: 1}}\n",
            r"metric\.goal: expected maximize or minimize",
        ),
        (
            "method: bayes\nmetric: {name: validation/margin, goal: maximize}\nearly_terminate: {type: hyperband}\nparameters: {b: {value: 1}}\n",
            r":3: early_terminate: unknown or unsupported",
        ),
        (
            "method: bayes\nmetric: {name: validation/margin, goal: maximize}\n",
            r"parameters: expected a mapping",
        ),
    ],
)
def test_bad_sweep_files_name_the_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_space(path)
    assert str(path) in str(err.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sweep config not found"):
        load_space(tmp_path / "nope.yaml")
