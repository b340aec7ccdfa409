"""One mutation step for the scalar types of an input's values: ints, floats and strings (the
reference's constants among a string's steps). :func:`._inputs_mutation._steps` dispatches to them.
"""

from __future__ import annotations

import math
import random
import string

from alignforge.verify._inputs_constants import Constants, _some


def _int_steps(v: int, rng: random.Random) -> list[int]:
    """Neighbours, the boundaries 0 / 1 / -1 / 2, the sign flip, and larger and smaller magnitudes."""
    return [
        v + 1,
        v - 1,
        0,
        1,
        -1,
        2,
        -v,
        -v - 1,
        2 * v,
        v // 2,
        v + rng.randint(-10, 10),
        v * 10,
        v * 100 + 1,
    ]


def _float_steps(v: float, rng: random.Random) -> list[float]:
    out = [
        v + 1.0,
        v - 1.0,
        0.0,
        -v,
        2 * v,
        v / 2,
        v + 0.5,
        -1.0,
        1.0,
        0.5,
        -v - 0.5,
        v * 10,
        float(round(v)),
        round(v * rng.uniform(0.5, 1.5), 3),
    ]
    return [x for x in out if math.isfinite(x)]


def _str_steps(v: str, rng: random.Random, alphabet: str, consts: Constants) -> list[str]:
    chars = alphabet or v or string.ascii_lowercase
    out = ["", v.swapcase(), v.upper(), v.lower(), v.title(), v[::-1], v + v, rng.choice(chars) + v]
    out += [x for c in _some(consts.strs, rng) for x in (c, v + c)]  # the reference's, alone and appended
    out += [v + c for c in rng.sample(chars, min(12, len(chars)))]  # appended characters, a dozen at most
    if v:
        i = rng.randrange(len(v))
        out += [v[:i] + v[i + 1 :], v[:i] + rng.choice(chars) + v[i + 1 :], v[:i] + rng.choice(chars) + v[i:]]
        out += [v[:1], v[-1:], v[: len(v) // 2], "".join(rng.sample(v, len(v)))]
        out += [v[:i] + v[i].swapcase() + v[i + 1 :], v[i] * len(v), v[:i] + v[i] + v[i:], v * 4]
        out += ["".join(sorted(v)), " " + v, v + " "]
        # cut to a length the reference compares with (`len(p) < 6`), its head and tail kept: the
        # characters a rule on kinds looks for often sit at the ends ('Password@10' -> 'Pas@10')
        out += [v[: (k + 1) // 2] + v[len(v) - k // 2 :] for k in sorted(set(consts.ints)) if 0 < k < len(v)][
            :8
        ]
    return out
