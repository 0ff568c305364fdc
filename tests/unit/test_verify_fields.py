"""Verification over every field a price states, order independence, lineage
consensus against the stored row, and the family floor/ceiling.

The rates here are made-up fixtures for the mechanics (model ``m-*`` of a
test provider), not any provider's real price.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time
from decimal import Decimal as D

from budget.domain.prices import Price, PriceRates, Rate, TierRate, TimeOfDayRates
from budget.ingest.collect import collect
from budget.ingest.family import FamilyBands, stems
from budget.ingest.fields import price_fields, verify_fields
from budget.ingest.plan import Context, plan
from budget.ingest.verify import CONFLICT, UNVERIFIED, VERIFIED, Evidence, Tolerance, verify
from budget.pricing.refresh import SourceRecord, SourceResult, SourceSpec, Stored

TOL = Tolerance(D("0.01"), D("0.000001"))
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def flat(inp: str, out: str, **more: str) -> PriceRates:
    kinds = {"input": inp, "output": out, **more}
    return PriceRates(**{k: Rate(D(v)) for k, v in kinds.items()})


def tiered(base: str, start: int, above: str, out: str = "10") -> PriceRates:
    return PriceRates(input=Rate(D(base), (TierRate(start, D(above)),)), output=Rate(D(out)))


def ev(source: str, rates: PriceRates, **more) -> Evidence:
    return Evidence(source, source, D("0.8"), rates, **more)


def night(inp: str) -> tuple[TimeOfDayRates, ...]:
    return (TimeOfDayRates(time(16, 30), time(0, 30), flat(inp, "1")),)


# --- every field --------------------------------------------------------------


def test_fields_are_walked_from_the_serialized_form() -> None:
    fields = price_fields(
        PriceRates(input=Rate(D(3), (TierRate(200_000, D(6)),)), output=Rate(D(15))),
        night("0.1"),
        effective_from=datetime(2025, 6, 10, tzinfo=UTC),
    )
    assert fields == {
        "input": "3",
        "input.tiers[0].start": 200_000,
        "input.tiers[0].rate": "6",
        "output": "15",
        "time_of_day[0].start": "16:30:00",
        "time_of_day[0].end": "00:30:00",
        "time_of_day[0].rates.input": "0.1",
        "time_of_day[0].rates.output": "1",
        "effective_from": "2025-06-10",
    }


def test_a_field_the_price_model_gains_later_is_compared_without_new_code() -> None:
    # Any path in the serialized form is a field: a future "service_tiers" block
    # is verified like the rest.
    a = {"input": "1", "service_tiers.batch.input": "0.5"}
    b = {"input": "1", "service_tiers.batch.input": "0.25"}
    verdicts = verify_fields([("a", "a", a), ("b", "b", b)], TOL)
    assert verdicts["input"].status == VERIFIED
    assert verdicts["service_tiers.batch.input"].status == CONFLICT


def test_a_tier_rate_disagreement_is_a_conflict_though_base_rates_agree() -> None:
    verdict = verify(
        [ev("a", tiered("1.25", 200_000, "2.5")), ev("b", tiered("1.25", 200_000, "5"))], TOL
    )
    assert verdict.kinds["input"].status == VERIFIED  # the base rates agree
    assert verdict.status == CONFLICT
    assert verdict.conflicting_fields == ("input.tiers[0].rate",)
    assert "tier rate differs (input.tiers[0].rate)" in verdict.causes


def test_a_tier_threshold_disagreement_is_a_conflict() -> None:
    verdict = verify([ev("a", tiered("1", 128_000, "2")), ev("b", tiered("1", 200_000, "2"))], TOL)
    assert verdict.conflicting_fields == ("input.tiers[0].start",)
    assert verdict.fields["input.tiers[0].rate"].status == VERIFIED


def test_a_time_of_day_variant_disagreement_is_a_conflict() -> None:
    base = flat("0.27", "1.1")
    verdict = verify(
        [ev("a", base, time_of_day=night("0.135")), ev("b", base, time_of_day=night("0.2"))], TOL
    )
    assert verdict.status == CONFLICT
    assert verdict.conflicting_fields == ("time_of_day[0].rates.input",)
    assert any(c.startswith("time-of-day variant differs") for c in verdict.causes)


def test_a_per_request_fee_and_effective_dates_are_compared() -> None:
    a = PriceRates(input=Rate(D(1)), output=Rate(D(1)), per_request=D("0.012"))
    b = PriceRates(input=Rate(D(1)), output=Rate(D(1)), per_request=D("0.005"))
    assert verify([ev("a", a), ev("b", b)], TOL).conflicting_fields == ("per_request",)
    june, july = datetime(2025, 6, 10, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)
    dated = verify(
        [
            ev("a", flat("1", "1"), effective_from=june),
            ev("b", flat("1", "1"), effective_from=july),
        ],
        TOL,
    )
    assert dated.conflicting_fields == ("effective_from",)


def test_a_tier_only_one_lineage_states_is_unverified_for_that_field() -> None:
    verdict = verify([ev("a", tiered("3", 200_000, "6")), ev("b", flat("3", "10"))], TOL)
    assert verdict.status == VERIFIED  # input and output agree
    checks = verdict.field_statuses()
    assert checks["input"] == VERIFIED and checks["output"] == VERIFIED
    assert checks["input.tiers[0].start"] == UNVERIFIED
    assert checks["input.tiers[0].rate"] == UNVERIFIED


# --- order independence --------------------------------------------------------


class _Catalog:
    def lookup(self, provider: str, model: str, at: datetime):
        return None


def _spec(name: str, lineage: str | None = None, trust: str = "0.8") -> SourceSpec:
    return SourceSpec(name, "test", lineage or name, D(trust), 3600)


def test_resolving_several_ids_to_one_model_does_not_depend_on_order() -> None:
    specs = [_spec("s1"), _spec("s2"), _spec("s3", lineage="s1", trust="0.8")]
    records = {
        "s1": [
            SourceRecord("acme", "m-1.5", "acme/m-1.5", flat("1", "2")),
            SourceRecord("acme", "m-1-5", "acme/m-1-5", flat("9", "9")),
        ],
        "s2": [
            SourceRecord("acme", "m-1-5", "m-1-5-latest", flat("1", "2")),
            SourceRecord("acme", "m-1-5", "m-1-5", flat("1", "2")),
        ],
        "s3": [SourceRecord("acme", "m-1-5", "x", flat("5", "5"))],
    }
    outcomes = set()
    for seed in range(20):
        rng = random.Random(seed)
        order = specs[:]
        rng.shuffle(order)
        results = []
        for spec in order:
            result = SourceResult(spec.name)
            result.records = rng.sample(records[spec.name], len(records[spec.name]))
            results.append((spec, result))
        groups = collect(results, _Catalog(), NOW, D(1000))  # type: ignore[arg-type]
        ctx = Context(NOW, TOL, {s.name: s for s in specs}, frozenset({"s1", "s2"}), {}, True, ())
        the_plan = plan(groups, {}, ctx)
        (group,) = groups.values()
        chosen = tuple(sorted((n, r.raw_id) for n, (_, r) in group.claims.items()))
        inserted = tuple((i.price.model, i.price.rates, i.price.source) for i in the_plan.inserts)
        outcomes.add((group.model, chosen, inserted, tuple(sorted(the_plan.totals.items()))))
    assert len(outcomes) == 1


# --- consensus against the stored row ------------------------------------------------


def _stored(rates: PriceRates, source: str = "s1", verification: str = UNVERIFIED) -> Stored:
    price = Price("acme", "m-2", rates, source, price_id=7, verification=verification)
    return Stored(price, 3)


def _group(*claims: tuple[SourceSpec, PriceRates]):
    from budget.ingest.collect import Group

    group = Group("acme", "m-2")
    for spec, rates in claims:
        group.claims[spec.name] = (spec, SourceRecord("acme", "m-2", "m-2", rates))
    return group


def _ctx(specs, reported) -> Context:
    return Context(NOW, TOL, {s.name: s for s in specs}, frozenset(reported), {}, True, ())


def test_two_lineages_agreeing_against_the_stored_row_replace_it_with_evidence() -> None:
    s1, s2, s3 = _spec("s1"), _spec("s2"), _spec("s3")
    stored = _stored(flat("30", "10"))  # wrong input, from s1 which is silent this run
    group = _group((s2, flat("3", "10")), (s3, flat("3.00", "10")))
    out = plan(
        {("acme", "m-2"): group}, {("acme", "m-2"): stored}, _ctx([s1, s2, s3], ["s2", "s3"])
    )
    assert out.end_dated == [7]
    (insert,) = out.inserts
    assert insert.price.rates.input == Rate(D(3)) and insert.position == 3
    change = out.changes[insert.change]
    assert change.action == "changed" and change.kinds["input"]["old"] == "30"
    assert change.evidence["input"]["lineages"] == ["s2", "s3"]
    assert change.evidence["input"]["claims"] == {"s2": "3", "s3": "3.00", "s1": "30"}
    assert insert.price.extra["field_verification"]["input"] == VERIFIED


def test_two_lineages_replace_the_kinds_they_agree_on_even_in_a_conflict() -> None:
    s1, s2, s3 = _spec("s1"), _spec("s2"), _spec("s3")
    stored = _stored(flat("30", "11"))
    # s2 and s3 agree on input; on output all three differ: a conflict.
    group = _group((s2, flat("3", "10")), (s3, flat("3", "12")))
    out = plan(
        {("acme", "m-2"): group}, {("acme", "m-2"): stored}, _ctx([s1, s2, s3], ["s2", "s3"])
    )
    assert out.end_dated == [7]
    (insert,) = out.inserts
    assert insert.price.rates.input == Rate(D(3)) and insert.price.rates.output == Rate(D(11))
    assert insert.price.verification == CONFLICT
    actions = [c.action for c in out.changes]
    assert actions == ["changed", "conflict"]
    assert set(out.changes[1].kinds) == {"output"}


def test_one_lineage_against_the_stored_row_stays_a_conflict() -> None:
    s1, s2 = _spec("s1"), _spec("s2")
    stored = _stored(flat("30", "10"))
    group = _group((s2, flat("3", "10")))
    out = plan({("acme", "m-2"): group}, {("acme", "m-2"): stored}, _ctx([s1, s2], ["s2"]))
    assert not out.inserts and not out.end_dated
    assert out.statuses == {7: CONFLICT}
    (change,) = out.changes
    assert change.action == "conflict" and change.old_price_id == 7
    assert change.kinds["input"] == {"s2": "3", "s1": "30"}


# --- family floor and ceiling ------------------------------------------------------


def _family() -> list[Price]:
    return [
        Price("acme", f"m-3-{name}", flat(inp, out), "s1")
        for name, inp, out in [
            ("small", "0.15", "0.6"),
            ("base", "2.5", "10"),
            ("large", "5", "15"),
        ]
    ]


def test_family_stems_and_bands() -> None:
    assert stems("gpt-4o-mini-2024-07-18") == ("gpt-4o-mini", "gpt-4o", "gpt")
    assert stems("claude-3-5-haiku") == ("claude-3-5", "claude-3", "claude")
    assert stems("o3") == ("o3",)
    bands = FamilyBands(_family())
    assert bands.problems("acme", "m-3-new", flat("3", "12")) == {}
    unit_error = bands.problems("acme", "m-3-new", flat("3000", "12"))
    assert list(unit_error) == ["input"] and unit_error["input"].startswith("magnitude: input")
    assert list(bands.problems("acme", "m-3-new", flat("0.000003", "12"))) == ["input"]  # floor
    assert bands.problems("acme", "m-3-new", flat("0", "12")) == {}  # free is not an error


def test_a_new_single_source_model_off_its_family_is_flagged_and_not_priced() -> None:
    s1 = _spec("s1")
    current = {
        ("acme", f"m-3-{n}"): Stored(p, i)
        for i, (n, p) in enumerate(zip(("small", "base", "large"), _family(), strict=True))
    }
    group = _group((s1, flat("2500", "10000")))  # per-thousand read as per-million
    group.model = "m-3-new"
    out = plan({("acme", "m-3-new"): group}, current, _ctx([s1], ["s1"]))
    assert not out.inserts  # never priced silently
    (change,) = out.changes
    assert change.action == "conflict" and change.verification == CONFLICT
    assert change.cause is not None and change.cause.startswith("magnitude:")
    assert set(change.kinds) == {"input", "output"}
    assert out.totals["conflicts"] == 1


def test_two_lineages_agreeing_on_an_unusual_price_are_believed() -> None:
    s1, s2 = _spec("s1"), _spec("s2")
    current = {("acme", p.model): Stored(p, i) for i, p in enumerate(_family())}
    group = _group((s1, flat("500", "2000")), (s2, flat("500", "2000")))
    group.model = "m-3-pro"
    out = plan({("acme", "m-3-pro"): group}, current, _ctx([s1, s2], ["s1", "s2"]))
    assert [i.price.rates.input for i in out.inserts] == [Rate(D(500))]


def test_a_new_model_keeps_the_rates_verification_does_not_vote_on() -> None:
    s1, s2 = _spec("s1"), _spec("s2")
    one_hour = Rate(D("6"))
    primary = PriceRates(input=Rate(D("3")), output=Rate(D("15")), cache_write_1h=one_hour)
    group = _group((s1, primary), (s2, flat("3", "15")))
    out = plan({("acme", "m-2"): group}, {}, _ctx([s1, s2], ["s1", "s2"]))
    (insert,) = out.inserts
    assert insert.price.rates.input == Rate(D("3"))
    assert insert.price.rates.cache_write_1h == one_hour


def test_sources_service_tiers_are_verified_field_by_field() -> None:
    from budget.domain.prices import ServiceTierRates

    def batch(inp: str) -> tuple[ServiceTierRates, ...]:
        return (ServiceTierRates("batch", flat(inp, "5")),)

    s1 = ev("s1", flat("2.5", "10"), service_tiers=batch("1.25"))
    s2 = ev("s2", flat("2.5", "10"), service_tiers=batch("1.25"))
    s3 = ev("s3", flat("2.5", "10"), service_tiers=batch("2.5"))
    agreed = verify([s1, s2], TOL)
    assert agreed.fields["service_tiers.batch.input"].status == VERIFIED
    split = verify([s1, s3], TOL)
    assert split.fields["service_tiers.batch.input"].status == CONFLICT
    alone = verify([s1, ev("s2", flat("2.5", "10"))], TOL)
    assert alone.fields["service_tiers.batch.input"].status == UNVERIFIED


def test_tiers_a_stored_row_took_from_another_lineage_are_no_witness() -> None:
    import dataclasses

    from budget.domain.prices import ServiceTierRates
    from budget.ingest.evidence import evidence_for

    tiers = (ServiceTierRates("batch", flat("1.25", "5")),)
    stored = _stored(flat("2.5", "10"))
    own = dataclasses.replace(stored.price, service_tiers=tiers)
    taken = dataclasses.replace(own, extra={"service_tiers_source": "litellm 1"})
    group = _group((_spec("s2"), flat("2.5", "10")))
    specs = {"s1": _spec("s1"), "s2": _spec("s2")}
    (witness,) = [e for e in evidence_for(group, own, specs, {"s2"}) if e.witness]
    assert witness.service_tiers == tiers
    (witness,) = [e for e in evidence_for(group, taken, specs, {"s2"}) if e.witness]
    assert witness.service_tiers == ()
