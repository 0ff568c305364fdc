"""``estimate_cost`` per call, beside genai-prices and LiteLLM on the same cases.

    python -m bench.bench_estimate [--quick]

Each library prices the same calls in this process: Budget's
``BudgetService.estimate_cost`` (validation, the cached catalog, exact
Decimal arithmetic per token kind), genai-prices' ``calc_price`` and
LiteLLM's ``cost_per_token`` (read from its bundled price file; nothing is
fetched). A library that is not installed, or does not know a case, is
reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python bench/bench_estimate.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import budget

CASES = [
    ("openai", "gpt-4o", 1_000, 500),
    ("openai", "gpt-4o-mini", 12_000, 800),
    ("anthropic", "claude-3-5-haiku-20241022", 3_000, 300),
]
AIM_US = 30.0


def _per_call_us(call: Callable[[], Any], calls: int, rounds: int = 5) -> float:
    """Median over ``rounds`` of the mean time of ``calls`` calls, in microseconds."""
    for _ in range(max(calls // 10, 10)):
        call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def _budget(svc: budget.BudgetService, provider: str, model: str, inputs: int, outputs: int):
    return lambda: svc.estimate_cost(
        provider=provider, model=model, input_tokens=inputs, output_tokens=outputs
    )


def _genai_prices(provider: str, model: str, inputs: int, outputs: int):
    try:
        from genai_prices import Usage, calc_price
    except ImportError:
        return None
    usage = Usage(input_tokens=inputs, output_tokens=outputs)
    try:
        calc_price(usage, model_ref=model, provider_id=provider)
    except Exception:
        return None
    return lambda: calc_price(usage, model_ref=model, provider_id=provider)


def _litellm(provider: str, model: str, inputs: int, outputs: int):
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # the bundled file only
    try:
        import litellm
    except ImportError:
        return None
    try:
        litellm.cost_per_token(model=model, prompt_tokens=inputs, completion_tokens=outputs)
    except Exception:
        return None
    return lambda: litellm.cost_per_token(
        model=model, prompt_tokens=inputs, completion_tokens=outputs
    )


def run(quick: bool) -> dict[str, Any]:
    """Microseconds per call for each library and case."""
    calls = 2_000 if quick else 20_000
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        svc = budget.open(f"sqlite:///{folder}/estimate.db")
        try:
            for provider, model, inputs, outputs in CASES:
                row: dict[str, Any] = {"provider": provider, "model": model}
                for name, make in (
                    ("budget", lambda *a: _budget(svc, *a)),
                    ("genai_prices", _genai_prices),
                    ("litellm", _litellm),
                ):
                    call = make(provider, model, inputs, outputs)
                    row[f"{name}_us"] = None if call is None else _per_call_us(call, calls)
                rows.append(row)
        finally:
            svc.close()
    worst = max(r["budget_us"] for r in rows)
    return {
        "calls": calls,
        "rows": rows,
        "aim": f"estimate_cost <= {AIM_US:g} us per call",
        "budget_worst_us": worst,
        "met": worst <= AIM_US,
    }


def table(result: dict[str, Any]) -> str:
    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}"

    head = f"{'provider':<10} {'model':<28} {'budget us':>10} {'genai-prices':>12} {'litellm':>8}"
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        lines.append(
            f"{r['provider']:<10} {r['model']:<28} {cell(r['budget_us']):>10} "
            f"{cell(r['genai_prices_us']):>12} {cell(r['litellm_us']):>8}"
        )
    verdict = "met" if result["met"] else "NOT met"
    lines.append(f"aim: {result['aim']}: worst {result['budget_worst_us']:.1f} us -> {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    result = run(parser.parse_args().quick)
    print(table(result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
