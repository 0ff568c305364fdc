"""Verification across independent sources: agree, single, conflict, causes, sanity."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from budget.domain.prices import Price, PriceRates, Rate, TierRate
from budget.errors import ValidationError
from budget.ingest.collect import Group
from budget.ingest.merge import merge_rates, status_after
from budget.ingest.plan import Context, plan
from budget.ingest.verify import CONFLICT, UNVERIFIED, VERIFIED, Evidence, Tolerance, verify
from budget.pricing.overrides import override_rates
from budget.pricing.refresh import SourceRecord, SourceSpec, Stored
from budget.pricing.sanity import sanity_problems

TOL = Tolerance(D("0.01"), D("0.000001"))
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def rates(inp: str, out: str | None = None, **more: str) -> PriceRates:
    kinds = {"input": inp, "output": out, **more}
    return PriceRates(**{k: Rate(base=D(v)) for k, v in kinds.items() if v is not None})


def ev(source: str, r: PriceRates, trust: str = "0.8", lineage: str | None = None) -> Evidence:
    return Evidence(source, lineage or source, D(trust), r)


def test_tolerance_is_relative_or_absolute() -> None:
    assert TOL.agree(D("2.5"), D("2.52"))  # 0.8 % apart
    assert not TOL.agree(D("2.5"), D("2.6"))  # 4 %
    assert Tolerance(D(0), D("0.01")).agree(D("0.001"), D("0.009"))
    assert TOL.agree(D(0), D(0))


def test_two_independent_sources_that_agree_verify_the_price() -> None:
    verdict = verify(
        [ev("a", rates("2.5", "10"), "0.9"), ev("b", rates("2.50", "10.0", cached_input="1.25"))],
        TOL,
    )
    assert verdict.status == VERIFIED
    assert verdict.kinds["input"].status == VERIFIED
    assert verdict.kinds["cached_input"].status == UNVERIFIED  # only one source gives it
    assert verdict.rates.input == Rate(D("2.5"))  # the most trusted source's exact value
    assert verdict.rates.cached_input == Rate(D("1.25"))
    assert verdict.primary.source == "a"


def test_a_source_that_copies_another_is_not_independent() -> None:
    verdict = verify(
        [
            ev("litellm", rates("2.5", "10"), "0.85", "litellm"),
            ev("tokencost", rates("2.5", "10"), "0.5", "litellm"),
        ],
        TOL,
    )
    assert verdict.status == UNVERIFIED
    assert [e.source for e in verdict.evidence] == ["litellm"]


def test_a_single_source_leaves_the_price_unverified() -> None:
    verdict = verify([ev("only", rates("1", "2"), "0.6")], TOL)
    assert verdict.status == UNVERIFIED
    assert verdict.primary.trust == D("0.6")


def test_two_sources_that_disagree_are_a_conflict() -> None:
    verdict = verify([ev("a", rates("0.135", "0.55")), ev("b", rates("0.28", "0.42"))], TOL)
    assert verdict.status == CONFLICT
    assert set(verdict.conflicting_kinds) == {"input", "output"}
    assert verdict.rates.input is None and verdict.rates.output is None
    assert any("prices differ" in cause for cause in verdict.causes)


@pytest.mark.parametrize(
    ("good", "bad", "cause"),
    [
        ("2", "0.002", "unit error: per thousand vs per million tokens (~1000x)"),
        ("2", "2000", "unit error: per thousand vs per million tokens (~1000x)"),
        ("3", "0.000003", "unit error: per token vs per million tokens (~1e6x)"),
        ("3", "1.5", "2x: a batch or discounted tier vs the standard price"),
        ("0.3", "0", "one source gives 0 (a free tier or a missing price)"),
    ],
)
def test_disagreements_are_labelled_with_their_likely_cause(
    good: str, bad: str, cause: str
) -> None:
    verdict = verify([ev("a", rates(good, "10"), "0.9"), ev("b", rates(bad, "10"))], TOL)
    assert verdict.status == CONFLICT
    assert verdict.kinds["input"].causes == (cause,)


def test_cache_read_write_mix_up_is_labelled() -> None:
    a = rates("3", "15", cached_input="0.3", cache_write="3.75")
    b = rates("3", "15", cached_input="3.75")  # b's read rate is a's write rate
    verdict = verify([ev("a", a, "0.9"), ev("b", b)], TOL)
    assert verdict.kinds["cached_input"].causes == ("cache read/write mix-up",)


def test_a_majority_of_independent_sources_outvotes_an_outlier() -> None:
    verdict = verify(
        [
            ev("litellm", rates("0.002", "0.006"), "0.85"),
            ev("openrouter", rates("2", "6"), "0.6"),
            ev("genai-prices", rates("2", "6"), "0.9"),
        ],
        TOL,
    )
    assert verdict.status == VERIFIED
    assert verdict.rates.input == Rate(D(2))
    assert [c.source for c in verdict.kinds["input"].outliers] == ["litellm"]
    assert verdict.kinds["input"].causes == (
        "unit error: per thousand vs per million tokens (~1000x)",
    )


def test_a_witness_counts_only_for_its_lineage() -> None:
    witness = Evidence("genai-prices", "genai-prices", D("0.9"), rates("3", "15"), witness=True)
    fresh = ev("genai-prices", rates("3", "15"), "0.9", "genai-prices")
    verdict = verify([witness, fresh, ev("b", rates("3", "15"))], TOL)
    assert verdict.status == VERIFIED
    assert not any(e.witness for e in verdict.evidence)  # a fresh report beats a witness


def test_tiers_come_from_an_agreeing_source_that_has_them() -> None:
    tiered = PriceRates(input=Rate(D(3), (TierRate(200_000, D(6)),)), output=Rate(D(15)))
    verdict = verify([ev("a", rates("3", "15"), "0.9"), ev("b", tiered)], TOL)
    assert verdict.rates.input == Rate(D(3), (TierRate(200_000, D(6)),))


def test_sanity_rules() -> None:
    assert sanity_problems(rates("3", "15", cached_input="0.3", cache_write="3.75"), D(1000)) == {}
    assert set(sanity_problems(rates("3", "15000"), D(1000))) == {"output"}
    assert sanity_problems(rates("3", "15", cached_input="4"), D(1000)) == {
        "cached_input": "cache-read rate above the input rate"
    }
    assert sanity_problems(rates("3", "15", cache_write="1"), D(1000)) == {
        "cache_write": "cache-write rate below the input rate"
    }
    swapped = sanity_problems(rates("3", "15", cached_input="3.75", cache_write="0.3"), D(1000))
    assert set(swapped) == {"cached_input", "cache_write"}
    assert "mix-up" in swapped["cached_input"]
    tiered = PriceRates(input=Rate(D(3), (TierRate(200_000, D(3000)),)))
    assert set(sanity_problems(tiered, D(1000))) == {"input"}


def test_override_rates_are_checked() -> None:
    got = override_rates({"input": "1.5", "output": 6, "per_request": D("0.01")}, D(1000))
    assert got.input == Rate(D("1.5")) and got.output == Rate(D(6))
    assert got.per_request == D("0.01")
    with pytest.raises(ValidationError) as err:
        override_rates({"input": 1.5}, D(1000))
    assert err.value.field == "input" and "float" in err.value.reason
    with pytest.raises(ValidationError, match="at least an input rate"):
        override_rates({"output": "6"}, D(1000))
    with pytest.raises(ValidationError) as err:
        override_rates({"input": "2", "cached_input": "3"}, D(1000))
    assert err.value.field == "cached_input" and err.value.value == D(3)
    with pytest.raises(ValidationError) as err:
        override_rates({"input": "2", "audio": "3"}, D(1000))
    assert err.value.field == "audio"
    with pytest.raises(ValidationError) as err:
        override_rates({"input": "-2"}, D(1000))
    assert err.value.field == "input"


def test_merge_keeps_stored_rates_the_sources_confirm_or_omit() -> None:
    stored = PriceRates(
        input=Rate(D("3"), (TierRate(200_000, D(6)),)),
        output=Rate(D(15)),
        cache_write=Rate(D("3.75")),
        per_request=D("0.01"),
    )
    same = merge_rates(stored, rates("3.00", "15.0"), TOL)
    assert same == stored  # equal within tolerance, tiers kept, cache write kept
    moved = merge_rates(stored, rates("2.5", "15"), TOL)
    assert moved.input == Rate(D("2.5")) and moved.cache_write == stored.cache_write


def test_status_after_an_unchanged_run() -> None:
    assert status_after(UNVERIFIED, VERIFIED) == VERIFIED
    assert status_after(VERIFIED, UNVERIFIED) == VERIFIED  # missing evidence never downgrades
    assert status_after(CONFLICT, UNVERIFIED) == UNVERIFIED  # the conflict ended
    assert status_after(UNVERIFIED, UNVERIFIED) == UNVERIFIED


def _spec(name: str, lineage: str | None = None, trust: str = "0.8") -> SourceSpec:
    return SourceSpec(name, "test", lineage or name, D(trust), 3600)


def _group(model: str, *claims: tuple[SourceSpec, PriceRates]) -> Group:
    group = Group("openai", model)
    for spec, r in claims:
        group.claims[spec.name] = (spec, SourceRecord("openai", model, model, r))
    return group


def _context(*specs: SourceSpec, reported: tuple[str, ...] = ()) -> Context:
    names = {s.name: s for s in specs}
    return Context(NOW, TOL, names, frozenset(reported), dict.fromkeys(names, "v1"))


def test_plan_adds_changes_keeps_and_holds() -> None:
    a, b, genai = _spec("a", trust="0.85"), _spec("b"), _spec("genai-prices", trust="0.9")
    stored = {
        ("openai", "kept"): Stored(
            Price("openai", "kept", rates("1", "2"), "genai-prices", price_id=1), 5
        ),
        ("openai", "moved"): Stored(Price("openai", "moved", rates("1", "2"), "a", price_id=2), 6),
        ("openai", "fought"): Stored(
            Price("openai", "fought", rates("1", "2"), "genai-prices", price_id=3), 7
        ),
    }
    groups = {
        ("openai", "new"): _group("new", (a, rates("4", "16")), (b, rates("4", "16"))),
        ("openai", "kept"): _group("kept", (a, rates("1", "2"))),
        ("openai", "moved"): _group("moved", (a, rates("0.5", "2"))),
        ("openai", "fought"): _group("fought", (a, rates("0.5", "2"))),
    }
    result = plan(groups, stored, _context(a, b, genai, reported=("a", "b")))
    actions = {c.model: c.action for c in result.changes}
    assert actions == {"new": "added", "moved": "changed", "fought": "conflict"}
    assert result.totals["unchanged"] == 1 and result.totals["conflicts"] == 1
    # "kept": genai-prices did not report, so its stored price witnessed and agreed
    assert result.statuses[1] == VERIFIED
    # "fought": the witness (genai-prices, 1) disagrees with a (0.5): held, marked
    assert result.statuses[3] == CONFLICT
    assert result.end_dated == [2]
    changed, added = result.inserts  # in model order: "moved", then "new"
    assert added.price.verification == VERIFIED and added.position is None
    assert changed.price.rates.input == Rate(D("0.5")) and changed.position == 6
    assert changed.price.effective_from == NOW
    assert result.changes[changed.change].kinds["input"] == {
        "old": "1",
        "new": "0.5",
        "change_pct": "-50.00",
    }
    assert result.per_source["a"] == {"added": 1, "unchanged": 1, "changed": 1, "conflicts": 1}


def test_plan_does_not_add_when_told_not_to() -> None:
    a = _spec("a")
    groups = {("openai", "new"): _group("new", (a, rates("4", "16")))}
    ctx = _context(a, reported=("a",))
    ctx = Context(ctx.now, ctx.tolerance, ctx.specs, ctx.reported_lineages, ctx.versions, False)
    result = plan(groups, {}, ctx)
    assert not result.inserts and result.totals["not_added"] == 1
