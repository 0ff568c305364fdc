"""``budget usage export``: the whole matching ledger as CSV or JSON lines.

Streams ``GET /api/v1/usage/export`` as the server sends it (the app reads
the ledger a page at a time), so memory stays bounded whatever the ledger's
size. With ``--output`` the file appears only
once the export is complete (written beside it, then renamed).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from budget.cli.commands.usage import Allocation, Context, app, usage_filters
from budget.cli.options import (
    ApiKeyAttr,
    BudgetFilter,
    Component,
    Corrects,
    EntryKind,
    Model,
    Priced,
    Project,
    Provider,
    Since,
    TaskType,
    Until,
    User,
    compact,
)
from budget.cli.runtime import Cli, command
from budget.errors import ValidationError


@command(app, "export", reads=True)
def export(
    cli: Cli,
    csv: Annotated[bool, typer.Option("--csv", help="CSV (the default).")] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="JSON lines: one usage object per line.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to FILE (default: stdout).", dir_okay=False),
    ] = None,
    since: Since = None,
    until: Until = None,
    budget: BudgetFilter = None,
    priced: Priced = None,
    component: Component = None,
    project: Project = None,
    user: User = None,
    api_key: ApiKeyAttr = None,
    provider: Provider = None,
    model: Model = None,
    context: Context = None,
    allocation: Allocation = None,
    task_type: TaskType = None,
    kind: EntryKind = None,
    corrects: Corrects = None,
) -> None:
    """Export every matching ledger entry, oldest first, with no page cap (the
    filters of `usage list`). CSV columns: docs/cli.md; money is exact decimal text.

    Example: budget usage export --csv --since 30d --output usage.csv
    """
    if csv and jsonl:
        raise ValidationError("--jsonl", True, "give --csv or --jsonl, not both")
    fmt = "jsonl" if jsonl else "csv"
    query = {
        **usage_filters(cli, locals()),
        **compact(priced=priced, kind=kind, corrects_id=corrects),
    }
    chunks = cli.client.export_usage(query, fmt)
    if output is None:
        _to_stdout(chunks)
        return
    _to_file(chunks, output)
    cli.say(f"wrote {output} ({output.stat().st_size:,} bytes)")


def _to_stdout(chunks: Iterator[str]) -> None:
    out = sys.stdout
    for chunk in chunks:
        out.write(chunk)
    out.flush()


def _to_file(chunks: Iterator[str], path: Path) -> None:
    """Write beside ``path``, then rename: a failed export leaves no partial file."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ValidationError("--output", str(path), "its folder does not exist")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
