"""Regenerate budget/pricing/data/model_facts.json from the installed LiteLLM and genai-prices.

Usage: ``.venv/bin/python scripts/build_model_facts.py [--output PATH]``

One entry per source row that states a fact, ids kept as the source writes
them (``budget/ingest/facts.py`` says which fields each source gives;
``budget/pricing/facts.py`` normalises and merges them when it loads the file).
LiteLLM's file is read from the installed wheel without importing litellm;
genai-prices' ``huggingface_*`` providers are left out (they re-list other
providers' models).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from budget.ingest.facts import genai_prices_entries, litellm_entries  # noqa: E402
from budget.ingest.sources.genai_prices import EXCLUDED_PREFIXES, load_providers  # noqa: E402
from budget.ingest.sources.litellm import read_installed_file  # noqa: E402

DEFAULT_OUTPUT = ROOT / "budget" / "pricing" / "data" / "model_facts.json"


def build() -> dict[str, Any]:
    """The header and every entry of the facts file."""
    body, litellm_version = read_installed_file()
    providers, genai_version = load_providers()
    chosen = [p for p in providers if not p.id.startswith(EXCLUDED_PREFIXES)]
    entries = litellm_entries(json.loads(body)) + genai_prices_entries(chosen)
    entries.sort(key=lambda e: (e["source"], e["provider"], e["model"]))
    return {
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "sources": {"litellm": litellm_version, "genai-prices": genai_version},
        "entries": entries,
    }


def render(document: dict[str, Any]) -> str:
    """The JSON text: the header on one line, then one entry per line."""
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    header = {k: v for k, v in document.items() if k != "entries"}
    head = json.dumps(header, **compact)[:-1]
    rows = ",\n".join(json.dumps(e, **compact) for e in document["entries"])
    return f'{head},"entries":[\n{rows}\n]}}\n'


def main(argv: list[str] | None = None) -> int:
    """Write the facts file and print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    document = build()
    text = render(document)
    json.loads(text)  # it must stay valid JSON
    args.output.write_text(text, encoding="utf-8")
    sources = ", ".join(f"{k} {v}" for k, v in document["sources"].items())
    print(
        f"wrote {args.output} ({len(text.encode()):,} bytes): "
        f"{len(document['entries'])} entries from {sources}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
