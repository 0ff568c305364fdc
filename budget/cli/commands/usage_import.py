"""``budget usage import FILE``: a CSV or JSONL file of usage reports, in batches.

Each row is a POST /usage body (UsageIn): CSV columns are its field names
(``tags`` separated by ``;``, ``metadata`` as a JSON object), a JSONL line is
one JSON object. Rows are validated first, then sent in batches (all or none
per batch); a batch that fails is retried row by row so that every failure is
reported with its line and the other rows are recorded. A row whose
``request_id`` was recorded before is skipped, so importing a file again
changes nothing.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from budget.cli.commands.usage import app
from budget.cli.runtime import EXIT_INPUT, Cli, command, console_for
from budget.errors import BudgetError, Conflict, NotFound, PriceUnknown, ValidationError

if TYPE_CHECKING:
    from budget.cli.client import Client

ROW_ERRORS = (ValidationError, NotFound, Conflict, PriceUnknown)
INT_COLUMNS = frozenset(
    (
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "reasoning_tokens",
        "latency_ms",
    )
)


class Format(StrEnum):
    AUTO = "auto"
    CSV = "csv"
    JSONL = "jsonl"


@dataclass
class Report:
    file: str
    rows: int = 0
    recorded: int = 0
    skipped: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # usage ids recorded by this import

    def tally(self, records: list[dict[str, Any]], before: datetime) -> None:
        """Count one batch's answer as recorded or skipped.

        The records a batch writes share one ``recorded_at``, taken after
        ``before``; a request id recorded earlier returns its first record,
        which is older, or was already counted by this import.
        """
        if not records:
            return
        times = [datetime.fromisoformat(r["recorded_at"]) for r in records]
        newest = max(times)
        for record, at in zip(records, times, strict=True):
            if at == newest >= before and record["usage_id"] not in self.seen:
                self.seen.add(record["usage_id"])
                self.recorded += 1
            else:
                self.skipped += 1

    def fail(self, line: int, message: str) -> None:
        self.failures.append({"line": line, "error": message})

    def as_dict(self) -> dict[str, Any]:
        failures = sorted(self.failures, key=lambda f: f["line"])
        return {
            "file": self.file,
            "rows": self.rows,
            "recorded": self.recorded,
            "skipped": self.skipped,
            "failed": len(failures),
            "failures": failures,
        }


def detect(path: Path, fmt: Format) -> Format:
    if fmt is not Format.AUTO:
        return fmt
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return Format.CSV
    if suffix in (".jsonl", ".ndjson", ".json"):
        return Format.JSONL
    with path.open(encoding="utf-8-sig", errors="surrogateescape") as f:
        head = f.read(4096).lstrip()
    return Format.JSONL if head.startswith("{") else Format.CSV


def read_rows(path: Path, fmt: Format) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line, raw body) per row, or (line, error message) for one that cannot be read."""
    # A byte-order mark is dropped; bytes that are not UTF-8 reach validation as lone
    # surrogates, so their row is refused by line instead of stopping the import.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        if fmt is Format.JSONL:
            for line, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                try:
                    item = json.loads(text)
                except ValueError as exc:
                    yield line, f"not valid JSON: {exc}"
                    continue
                yield line, item if isinstance(item, dict) else "a line must be a JSON object"
            return
        reader = csv.DictReader(f)
        for row in reader:
            yield reader.line_num, _csv_row(row)


def _csv_row(row: dict[str | None, Any]) -> dict[str, Any] | str:
    if None in row:
        return "more cells than header columns"
    out: dict[str, Any] = {}
    for key, raw in row.items():
        text = (raw or "").strip()
        if not key or not text:
            continue
        if key == "tags":
            out[key] = [t.strip() for t in text.split(";") if t.strip()]
        elif key == "metadata":
            try:
                out[key] = json.loads(text)
            except ValueError:
                return f"metadata={text!r}: not a JSON object"
        elif key in INT_COLUMNS and re.fullmatch(r"[+-]?\d+", text):
            out[key] = int(text)
        else:
            out[key.strip()] = text
    return out


def batches(
    rows: list[tuple[int, dict[str, Any]]], size: int
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Rows in order, at most ``size`` a batch, no request id twice in one batch."""
    batch: list[tuple[int, dict[str, Any]]] = []
    ids: set[str] = set()
    for line, body in rows:
        rid = body.get("request_id")
        if len(batch) >= size or (rid is not None and rid in ids):
            yield batch
            batch, ids = [], set()
        batch.append((line, body))
        if rid is not None:
            ids.add(rid)
    if batch:
        yield batch


def send(client: Client, batch: list[tuple[int, dict[str, Any]]], report: Report) -> None:
    """One batch (all or none); if it fails, row by row to find each bad line."""
    before = client.clock()
    try:
        records = client.record_usage_batch([body for _, body in batch])
    except ROW_ERRORS:
        for line, body in batch:
            before = client.clock()
            try:
                report.tally([client.record_usage(body)], before)
            except ROW_ERRORS as exc:
                report.fail(line, exc.message)
        return
    report.tally(records, before)


def usage_body(raw: dict[str, Any]) -> dict[str, Any]:
    """A row as POST /usage's body, validated as the API does (UsageIn); its
    first error as a ValidationError."""
    import pydantic

    from budget.api.schemas import field_of
    from budget.api.schemas_ledger import UsageIn

    try:
        usage = UsageIn.model_validate(raw)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        raise ValidationError(
            field_of(err.get("loc", ())), err.get("input"), err.get("msg", "invalid")
        ) from None
    return usage.model_dump(mode="json", exclude_none=True)


@command(app, "import")
def import_(
    cli: Cli,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="A .csv or .jsonl file.",
            show_default=False,
        ),
    ],
    format: Annotated[Format, typer.Option("--format", help="File format.")] = Format.AUTO,
    batch_size: Annotated[
        int, typer.Option(min=1, max=1000, help="Rows per request (one transaction each).")
    ] = 500,
) -> None:
    """Import usage reports from a CSV or JSONL file, in batches, with a progress bar.

    Idempotent by request_id: rows recorded before are counted as skipped. Reports
    how many were recorded, skipped and failed, with the line of each failure;
    exits 2 when any row failed.

    Example: budget usage import usage-2026-11.csv --batch-size 200
    """
    fmt = detect(file, format)
    rows = list(read_rows(file, fmt))
    report = Report(file=str(file), rows=len(rows))
    valid: list[tuple[int, dict[str, Any]]] = []
    for line, raw in rows:
        if isinstance(raw, str):
            report.fail(line, raw)
            continue
        try:
            body = usage_body(raw)
        except ValidationError as exc:
            report.fail(line, exc.message)
            continue
        valid.append((line, body))
    progress = Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console_for(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("import", total=len(rows))
        progress.advance(task, len(rows) - len(valid))
        for batch in batches(valid, batch_size):
            try:
                send(cli.client, batch, report)
            except BudgetError as exc:
                exc.message = (
                    f"{exc.message} (stopped at line {batch[0][0]}; {report.recorded} rows "
                    "recorded so far; importing again skips rows with a request_id)"
                )
                raise
            progress.advance(task, len(batch))
    result = report.as_dict()
    cli.emit(result, lambda x: _render(cli, x))
    if result["failed"]:
        raise typer.Exit(EXIT_INPUT)


def _render(cli: Cli, result: dict[str, Any]) -> None:
    from budget.cli import render as r

    cli.say(
        f"{result['file']}: {result['rows']} rows: recorded {result['recorded']}, "
        f"skipped {result['skipped']} (already recorded), failed {result['failed']}"
    )
    if result["failures"]:
        columns: list[r.Column] = [("line", lambda f: f["line"]), ("error", lambda f: f["error"])]
        cli.print(r.table(result["failures"], columns, title="failures"))
