"""The row gates' verdicts, decided in the pass that computes the figures (``check --keep-passing``,
``--failing-rows``).

The accumulator records each row gate a row fails as it measures the row; the filter reads those
verdicts batch by batch. A row that fails no gate goes to the kept file; one that fails goes to
``<out>.dropped.jsonl`` carrying ``metadata.drop_reasons`` (one ``{reason: gate, detail: value and
bound}`` per gate it fails) and, with a failing-rows folder, to ``DIR/<gate>.jsonl`` as
``{"line", "gate", "row"}`` once per gate.

Two DPO gates are decided from the whole file: ``unique`` (a repeat of an earlier pair) and
``no_conflict`` (A>B on one line and B>A on a later one: the earlier row cannot be judged until the
later one is read). The accumulator finds them in bounded memory when the pass ends. With either
gate on, each row is spilled as it is read to an anonymous temporary file beside the output (its
line, the gates it failed in the pass, the row as JSON) and, once the pass has ended, the spill -
not the input - is replayed with the duplicates and conflicts added. The input is read once; the
spill costs one write and one read of the rows on disk and nothing in memory, and it vanishes
with the process even when the process is killed. Without such a gate, rows are routed as they
are read.

The kept and dropped files, and in a failing-rows folder one file for every row gate of the run
(empty when no row fails it), are written under a temporary name (``.NAME.partial``) and renamed
when the pass ends: a failed or killed run leaves no partial output (a failed one leaves the last
run's files as they were), and its rerun writes the same files. A finished run also removes the
``<gate>.jsonl`` an earlier run wrote for a gate this run does not hold, so the folder holds this
run's verdicts only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any

import orjson

from alignforge.io import dumps
from alignforge.quality._common import Accumulator, RowFailures, score_of
from alignforge.quality._gate_names import ROW_GATES
from alignforge.quality._kinds import count_tests
from alignforge.quality.gates import bound_text
from alignforge.records import Kind
from alignforge.stages import add_drop_reason, side_paths

__all__ = ["RowFilter", "LATE_GATES", "row_detail"]

# Gates DPOAccumulator.finish() decides from the whole file (its excluded_by), not row by row.
LATE_GATES = ("unique", "no_conflict")

_CHECK_TEXT = {
    "not_identical": "chosen equals rejected once whitespace is normalised",
    "unique": "repeats an earlier pair (the same prompt, chosen and rejected)",
    "no_conflict": "another row of the same prompt prefers the other answer",
    "messages_valid": "the messages are not a valid conversation",
    "renders": "the tokenizer's chat template fails on the conversation",
    "prompt_only": "carries a completion; a GRPO row is a prompt only",
    "reward_spec": "names no answer, tests or verifier to reward against",
    "entry_point_in_prompt": "the function the tests call is not named in the prompt",
    "unique_task_id": "repeats an earlier row's task_id",
}
# Every name a failing-rows file can have: the checks above, the bounded gates, the caller's exclusions.
_GATE_NAMES = (
    frozenset(_CHECK_TEXT)
    | {name for known in ROW_GATES.values() for name, how in known.items() if how == "bounds"}
    | {"excluded"}
)


def _row_value(gate: str, row: dict[str, Any]) -> Any:
    meta = row.get("metadata") or {}
    if gate == "score_gap":
        cs, rs = score_of(row, meta, "chosen_score"), score_of(row, meta, "rejected_score")
        return None if cs is None or rs is None else cs - rs  # unrounded: 8.7 - 5.7 fails >= 3.0
    if gate == "tests_per_task":
        return None if row.get("tests") is None else count_tests(row["tests"])
    return score_of(row, meta, gate)


def row_detail(gate: str, row: dict[str, Any], rules: dict[str, Any]) -> str:
    """Why ``row`` fails ``gate``: its value and the bound (``chosen_score 7.0, gate >= 9.0``), or what
    the check found."""
    spec = rules.get(gate)
    if not isinstance(spec, dict):
        return _CHECK_TEXT.get(gate, f"fails the row gate {gate}")
    value = _row_value(gate, row)
    bound = bound_text(spec) + (f" on {spec['scale']}" if "scale" in spec else "")
    return f"{gate} {'missing' if value is None else value}, gate {bound}"


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


class _Recording(RowFailures):
    """Row failures that also hold, until the filter takes them, the gates each line failed."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[int, list[str]] = {}

    def add(self, gate: str, line: int) -> None:
        super().add(gate, line)
        self.pending.setdefault(line, []).append(gate)

    def add_many(self, gate: str, lines: list[int]) -> None:
        super().add_many(gate, lines)
        for line in lines:
            self.pending.setdefault(line, []).append(gate)

    def add_lines(self, gate: str, lines: Any) -> None:
        """``add_many`` for a numpy array of lines (the columnar scan's form)."""
        super().add_lines(gate, lines)
        for line in lines.tolist():
            self.pending.setdefault(line, []).append(gate)


class _Tee:
    """What the scan feeds: the accumulator, then the filter, with the same batch."""

    def __init__(self, acc: Accumulator, filt: RowFilter) -> None:
        self.acc, self.filt = acc, filt

    def add_batch(self, lines: list[int], rows: list[dict[str, Any]]) -> None:
        self.acc.add_batch(lines, rows)
        self.filt.take(lines, rows)

    def add(self, line: int, row: dict[str, Any]) -> None:
        self.add_batch([line], [row])


class RowFilter:
    """Routes each row by the row gates it fails: ``keep`` (``*.jsonl``, with its dropped side file)
    and ``failing_dir`` are each optional. ``extra`` maps a gate name to lines the caller excludes
    beforehand. Use: :meth:`attach` to a fresh accumulator, feed it, then :meth:`finish` with the
    accumulator's ``excluded_by`` (or :meth:`abort`)."""

    def __init__(
        self,
        kind: Kind,
        rules: dict[str, Any],
        *,
        keep: str | os.PathLike[str] | None = None,
        failing_dir: str | os.PathLike[str] | None = None,
        extra: dict[str, set[int]] | None = None,
    ) -> None:
        self.rules = {g: spec for g, spec in rules.items() if spec not in (None, False)}
        self.late = kind is Kind.DPO and any(g in self.rules for g in LATE_GATES)
        self.extra = extra or {}
        self.paths = side_paths(keep) if keep is not None else None
        self.failing_dir = Path(failing_dir) if failing_dir is not None else None
        self.kept = self.dropped = self.seen = 0
        self.in_pass: dict[str, int] = {}  # rows the accumulator failed per gate, as the filter saw them
        self.first_reasons: dict[str, int] = {}  # each dropped row once, by the first gate it fails
        self.gate_rows: dict[str, int] = {}  # rows failing each gate
        self._rec = _Recording()
        self._out: IO[bytes] | None = None
        self._dropped: IO[bytes] | None = None
        self._sides: dict[str, IO[bytes]] = {}
        self._spill: IO[bytes] | None = None

    def attach(self, acc: Accumulator) -> _Tee:
        if acc.rows:
            raise RuntimeError("a row filter needs a fresh accumulator")
        acc.failures = self._rec
        if self.paths is not None:
            self.paths.out.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(_partial(self.paths.out), "wb")
            self._dropped = open(_partial(self.paths.dropped), "wb")
        if self.failing_dir is not None:
            self.failing_dir.mkdir(parents=True, exist_ok=True)
            for g in dict.fromkeys([*self.rules, *self.extra]):
                self._sides[g] = open(_partial(self._gate_file(g)), "wb")
        if self.late:
            where = self.paths.out.parent if self.paths else self.failing_dir
            self._spill = tempfile.TemporaryFile(dir=where, prefix=".alignforge-check-spill")
        return _Tee(acc, self)

    def take(self, lines: list[int], rows: list[dict[str, Any]]) -> None:
        pending = self._rec.pending
        self.seen += len(rows)
        for line, row in zip(lines, rows, strict=True):
            fails = [g for g in pending.pop(line, ()) if g in self.rules]
            for g in fails:
                self.in_pass[g] = self.in_pass.get(g, 0) + 1
            fails += [g for g, where in self.extra.items() if line in where and g not in fails]
            if self._spill is not None:
                self._spill.write(b"%d\t%s\t" % (line, ",".join(fails).encode()) + dumps(row))
            else:
                self._route(line, row, None, fails)
        if pending:  # a verdict for a row not in this batch: the filter would misroute it
            raise RuntimeError(f"row gate verdicts for lines outside the batch: {sorted(pending)[:5]}")

    def _route(self, line: int, row: dict[str, Any] | None, raw: bytes | None, fails: list[str]) -> None:
        if not fails:
            self.kept += 1
            if self._out is not None:
                self._out.write(raw if raw is not None else dumps(row))
            return
        self.dropped += 1
        self.first_reasons[fails[0]] = self.first_reasons.get(fails[0], 0) + 1
        for g in fails:
            self.gate_rows[g] = self.gate_rows.get(g, 0) + 1
        if row is None:
            row = orjson.loads(raw)  # type: ignore[arg-type]
        if self._dropped is not None:
            meta = row.get("metadata")
            copy = {**row, "metadata": dict(meta) if isinstance(meta, dict) else {}}
            if isinstance(copy["metadata"].get("drop_reasons"), list):
                copy["metadata"]["drop_reasons"] = list(copy["metadata"]["drop_reasons"])
            for g in fails:
                add_drop_reason(copy, g, row_detail(g, row, self.rules))
            self._dropped.write(dumps(copy))
        if self.failing_dir is not None:
            for g in fails:
                self._sides[g].write(dumps({"line": line, "gate": g, "row": row}))

    def _gate_file(self, gate: str) -> Path:
        assert self.failing_dir is not None
        return self.failing_dir / f"{gate}.jsonl"

    def finish(self, acc: Accumulator) -> None:
        """Replay the spill with the whole-file gates (``acc.excluded_by``, known once ``acc`` has
        finished), then put the files in place."""
        self._rec.pending.clear()  # the whole-file gates' lines, recorded at finish; excluded_by has them
        excluded_by = acc.excluded_by
        counts = {g: n for g, n in acc.failures.counts.items() if g in self.rules and g not in LATE_GATES}
        if self.seen != acc.rows or counts != self.in_pass:
            self.abort()  # a scan that bypassed the filter: its files would be wrong, so none are written
            raise RuntimeError(
                f"the row filter saw {self.seen} rows and {self.in_pass} failures; the scan measured "
                f"{acc.rows} rows and {counts}"
            )
        try:
            if self._spill is not None:
                late = [(g, excluded_by.get(g) or set()) for g in LATE_GATES if g in self.rules]
                self._spill.seek(0)
                for entry in self._spill:
                    head, gates, raw = entry.split(b"\t", 2)
                    line = int(head)
                    fails = gates.decode().split(",") if gates else []
                    fails += [g for g, where in late if line in where]
                    self._route(line, None, raw, fails)
        except BaseException:
            self.abort()
            raise
        self._close()
        if self.paths is not None:
            os.replace(_partial(self.paths.out), self.paths.out)
            os.replace(_partial(self.paths.dropped), self.paths.dropped)
        if self.failing_dir is not None:
            for g in self._sides:
                os.replace(_partial(self._gate_file(g)), self._gate_file(g))
            self._remove_stale_gate_files()

    def _remove_stale_gate_files(self) -> None:
        """Remove the ``<gate>.jsonl`` of a row gate this run does not hold, left by an earlier run:
        only an empty file or one whose first line is ``{"line", "gate": <gate>, "row"}`` (a file of
        the user's that happens to share the name is left alone)."""
        assert self.failing_dir is not None
        for g in sorted(_GATE_NAMES - set(self._sides)):
            path = self._gate_file(g)
            try:
                with open(path, "rb") as fh:
                    first = fh.readline()
            except (FileNotFoundError, IsADirectoryError):
                continue
            try:
                head = orjson.loads(first) if first else {"gate": g}
            except orjson.JSONDecodeError:
                continue
            if isinstance(head, dict) and head.get("gate") == g and set(head) <= {"line", "gate", "row"}:
                path.unlink()

    def abort(self) -> None:
        """Close everything and remove the partial files (the pass failed; the last run's files stay)."""
        self._close()
        if self.paths is not None:
            for p in (self.paths.out, self.paths.dropped):
                _partial(p).unlink(missing_ok=True)
        if self.failing_dir is not None:
            for g in self._sides:
                _partial(self._gate_file(g)).unlink(missing_ok=True)

    def _close(self) -> None:
        for fh in [self._out, self._dropped, self._spill, *self._sides.values()]:
            if fh is not None and not fh.closed:
                fh.close()
