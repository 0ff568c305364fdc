"""The one validation boundary: what the domain accepts is what storage can hold."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from budget.api.schemas import field_of
from budget.api.strict import MalformedJSON, SafeJSONResponse, parse
from budget.domain import limits, redact
from budget.domain import validation as v
from budget.domain.prices import Price, PriceRates, Rate, TokenUsage
from budget.domain.validation import readable
from budget.errors import ValidationError, problem_body, shown
from budget.pricing.cost import compute_cost


@pytest.mark.parametrize("bad", ["a\x00b", "\x00", "x\ud800y", "\udfff", "é\x00"])
def test_text_refuses_nul_and_lone_surrogates(bad):
    with pytest.raises(ValidationError) as caught:
        v.text("component", bad)
    assert caught.value.field == "component"
    assert caught.value.message.encode("utf-8")  # the message itself always encodes


def test_text_length_is_the_column_length():
    assert v.text("component", "x" * limits.NAME_LENGTH)
    with pytest.raises(ValidationError, match="longer than 200"):
        v.text("component", "x" * (limits.NAME_LENGTH + 1))


@pytest.mark.parametrize(
    "meta",
    [
        {"k": "\ud800"},
        {"\ud800": 1},
        {"k": ["ok", {"deep": "a\x00"}]},
        {"k": float("nan")},
        {"k": float("inf")},
        {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": {"k": 1}}}}}}}}}},
        {"k": "x" * (limits.MAX_METADATA_BYTES + 1)},
        {f"k{i}": i for i in range(limits.MAX_METADATA_KEYS + 1)},
        {"k": object()},
    ],
)
def test_metadata_is_checked_all_the_way_down(meta):
    with pytest.raises(ValidationError) as caught:
        v.metadata("metadata", meta)
    assert caught.value.field.startswith("metadata")


def test_metadata_names_the_path_of_the_bad_value():
    with pytest.raises(ValidationError) as caught:
        v.metadata("metadata", {"a": {"b": ["x", "\ud800"]}})
    assert caught.value.field == "metadata.a.b[1]"


def test_clean_metadata_passes_unchanged():
    meta = {"team": "café", "n": 3, "ok": True, "list": [1.5, None], "nested": {"x": "y"}}
    assert v.metadata("metadata", meta) == meta


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9000-01-01"]
)
def test_instants_stay_inside_the_calendar_windows_need(when):
    with pytest.raises(ValidationError, match="must be from 1970-01-01"):
        v.instant("occurred_at", when)


def test_a_date_alone_is_midnight_utc_or_in_the_zone_given():
    assert v.instant("since", "2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    paris = v.instant("since", "2026-12-01", zone="Europe/Paris")
    assert paris == datetime(2026, 11, 30, 23, tzinfo=UTC)
    with pytest.raises(ValidationError, match="timezone"):
        v.instant("since", "2026-12-01", zone="Mars/Olympus")


def test_token_counts_are_bounded_so_costs_fit_the_column():
    assert v.tokens("input_tokens", limits.MAX_TOKENS) == limits.MAX_TOKENS
    with pytest.raises(ValidationError, match="at most 1,000,000,000,000"):
        v.tokens("input_tokens", limits.MAX_TOKENS + 1)
    # the largest counts at the largest rate still fit a signed 64-bit column
    worst = 5 * limits.MAX_TOKENS * int(limits.MAX_RATE_PER_MILLION) * 1000
    assert worst + int(limits.MAX_REQUEST_PRICE) * 10**9 < limits.INT64_MAX


def test_a_cost_too_large_for_one_record_is_refused_not_overflowed():
    huge = Rate(Decimal(10**9))
    price = Price(
        provider="acme", model="m", rates=PriceRates(input=huge, output=huge), source="test"
    )
    usage = TokenUsage(input_tokens=limits.MAX_TOKENS, output_tokens=limits.MAX_TOKENS)
    with pytest.raises(ValidationError, match="more than one record can hold"):
        compute_cost(price, usage, datetime(2026, 11, 29, tzinfo=UTC))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0"), "0"),
        (Decimal("1E+3"), "1000"),
        (datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "2026-01-02T03:04:00+00:00"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
        ("\ud800", "'\\ud800'"),
        (None, "null"),
        (True, "true"),
    ],
)
def test_values_are_shown_in_the_users_terms(value, text):
    assert shown(value) == text


def test_problem_bodies_always_encode():
    error = ValidationError("metadata.k", "x\ud800" + "y" * 500, "is not valid Unicode")
    body = problem_body(error)
    assert body["status"] == 422 and body["title"] == "Invalid input"
    assert len(body["value"]) <= 210
    SafeJSONResponse(body).body.decode("utf-8")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"a": NaN}', "body"),
        (b'{"a": Infinity}', "body"),
        (b'{"a": 1e400}', "body"),
        (b'{"a": 1, "a": 2}', "a"),
        (b'{"a": "\\ud800"}', "a"),
        (b'{"a": {"b": ["\\u0000"]}}', "a.b[0]"),
        (b'{"\\ud800": 1}', "body key"),
        (b"[" * 100 + b"]" * 100, "body"),
    ],
)
def test_strict_json_refuses_what_json_or_storage_cannot_hold(raw, field):
    with pytest.raises(ValidationError) as caught:
        parse(raw)
    assert caught.value.field == field


def test_strict_json_reads_utf8_with_or_without_a_bom_and_nothing_else():
    assert parse(b'\xef\xbb\xbf{"name": "caf\xc3\xa9"}') == {"name": "café"}
    with pytest.raises(MalformedJSON, match="not UTF-8"):
        parse(b'{"name": "\xff"}')
    with pytest.raises(MalformedJSON):
        parse(b'{"name": ')


def test_stored_bad_json_reads_back_encodable():
    assert readable({"k": "a\ud800", "n": float("nan"), "l": ["\udfff"]}) == {
        "k": "a\ufffd",
        "n": None,
        "l": ["\ufffd"],
    }
    clean = {"k": "v"}
    assert readable(clean) == clean


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql+psycopg://budget:s3cr%40t@db:5432/budget",
            "postgresql+psycopg://budget:***@db:5432/budget",
        ),
        ("https://hooks.example/x?token=abc&team=a", "https://hooks.example/x?token=***&team=a"),
        ("sqlite:////var/lib/budget.db", "sqlite:////var/lib/budget.db"),
        ("postgresql://budget@db/budget", "postgresql://budget@db/budget"),
    ],
)
def test_urls_are_shown_without_their_secrets(url, masked):
    assert redact.url(url) == masked


def test_text_is_scrubbed_of_passwords_and_key_secrets():
    line = (
        'cannot connect to "postgresql://u:hunter2@db/x" with key bgt_AbCdEfGh12345678 '
        "and whsec_ZZZZZZZZZZZZ password=hunter2"
    )
    scrubbed = redact.text(line)
    assert "hunter2" not in scrubbed
    assert "AbCdEfGh" not in scrubbed and "ZZZZ" not in scrubbed
    assert "postgresql://u:***@db/x" in scrubbed


def test_pydantic_locations_read_as_field_paths():
    assert field_of(("body", "items", 0, "priority", "constrained-int"), {"body"}) == (
        "items[0].priority"
    )
    assert field_of(("starts_at", "function-after[_iso_text(), datetime]")) == "starts_at"
    assert field_of(()) == "body"
