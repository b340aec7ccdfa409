"""The per-row check :func:`alignforge.io.read_rows` runs: the row is valid for the file's kind, is not
a row of another kind, and (SFT, DPO, KTO, GRPO) has the same TRL shape as the file's first row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alignforge.records import FieldError, Kind, Shape, detect_kind, validate_row

_SIGNATURE = {Kind.DPO: "chosen", Kind.KTO: "label", Kind.RLVR: "tests"}


_SHAPED = frozenset({Kind.SFT, Kind.DPO, Kind.KTO, Kind.GRPO})


def _row_validator(kind: Kind, allow_mixed: bool, shape: Shape | None = None) -> Callable[[Any], None]:
    signature = _SIGNATURE.get(kind)
    shaped = kind in _SHAPED and not allow_mixed
    # The file's shape as a bool (True: conversational), fixed by the first valid row unless given.
    want: list[bool | None] = [None if shape is None else shape is Shape.CONVERSATIONAL]

    def check(obj: Any) -> None:
        if signature is not None and type(obj) is dict and signature in obj:
            validate_row(obj, kind)  # the kind's own field is there: no other kind to suspect
        else:
            if not allow_mixed and isinstance(obj, dict):
                try:
                    other = detect_kind(obj)
                except FieldError:
                    other = kind  # no kind at all: validate_row names the missing field
                if other is not kind and not _compatible(kind, other):
                    raise FieldError(
                        "<row>",
                        f"mixed record kinds: this row looks like {other.value}, the file is {kind.value}",
                    )
            validate_row(obj, kind)
        if shaped:
            name = "messages" if "messages" in obj else "prompt"
            conversational = type(obj[name]) is list
            if want[0] is None:
                want[0] = conversational
            elif conversational is not want[0]:
                raise FieldError(name, _mixed_shape(conversational))

    return check


def _mixed_shape(conversational: bool) -> str:
    this, file = ("conversational", "standard") if conversational else ("standard", "conversational")
    return (
        f"mixed shapes: this row is {this} ({_SHAPE_WORDS[this]}), the file is {file} "
        f"({_SHAPE_WORDS[file]}, from its first row); TRL trains on one shape per file"
    )


_SHAPE_WORDS = {"standard": "strings", "conversational": "lists of messages"}


def _compatible(kind: Kind, other: Kind) -> bool:
    # A prompt-only row in a DPO/SFT/KTO file is missing fields (validate_row names them), not another kind;
    # an SFT prompt/completion row looks like KTO minus its label.
    return other is Kind.GRPO or (kind, other) in {(Kind.GRPO, Kind.SFT), (Kind.KTO, Kind.SFT)}
