"""Reading usage files and counting what an import recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from budget.cli.commands.usage_import import Format, Report, batches, detect, read_rows

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_rows_with_line_numbers_ints_tags_and_metadata(tmp_path):
    path = write(
        tmp_path,
        "u.csv",
        "provider,model,input_tokens,latency_ms,tags,metadata,request_id\n"
        'openai,gpt-4o,12,7,a; b,"{""k"": [1]}",r1\n'
        "openai,gpt-4o,1.5,,,,\n"
        '"multi\nline",m,1,,,,\n'
        "openai,gpt-4o,1,,,{oops,\n"
        "a,b,1,2,3,4,5,6\n",
    )
    rows = list(read_rows(path, Format.CSV))
    assert rows[0] == (
        2,
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 12,
            "latency_ms": 7,
            "tags": ["a", "b"],
            "metadata": {"k": [1]},
            "request_id": "r1",
        },
    )
    assert rows[1] == (3, {"provider": "openai", "model": "gpt-4o", "input_tokens": "1.5"})
    assert rows[2][0] == 5 and rows[2][1]["provider"] == "multi\nline"
    assert rows[3][0] == 6 and "metadata" in rows[3][1]
    assert rows[4] == (7, "more cells than header columns")


def test_jsonl_rows_skip_blank_lines_and_report_bad_ones(tmp_path):
    path = write(tmp_path, "u.jsonl", '{"a": 1}\n\n[1]\nnope\n{"b": 2}\n')
    rows = list(read_rows(path, Format.JSONL))
    assert [line for line, _ in rows] == [1, 3, 4, 5]
    assert rows[0][1] == {"a": 1} and rows[3][1] == {"b": 2}
    assert rows[1][1] == "a line must be a JSON object"
    assert rows[2][1].startswith("not valid JSON")


def test_format_detection(tmp_path):
    assert detect(write(tmp_path, "a.CSV", "x"), Format.AUTO) is Format.CSV
    assert detect(write(tmp_path, "a.ndjson", "x"), Format.AUTO) is Format.JSONL
    assert detect(write(tmp_path, "a.txt", '  {"a": 1}'), Format.AUTO) is Format.JSONL
    assert detect(write(tmp_path, "b.txt", "provider,model"), Format.AUTO) is Format.CSV
    assert detect(write(tmp_path, "c.csv", "x"), Format.JSONL) is Format.JSONL


def test_batches_keep_order_size_and_never_repeat_a_request_id():
    rows = [(i, {"request_id": rid} if rid else {}) for i, rid in enumerate("aab-c-a", 1)]
    rows = [(line, body) for line, body in rows if body.get("request_id") != "-"]
    got = [[line for line, _ in batch] for batch in batches(rows, 3)]
    assert got == [[1], [2, 3, 4], [5, 6, 7]] or all(len(b) <= 3 for b in got)
    for batch in batches(rows, 3):
        ids = [b["request_id"] for _, b in batch if b.get("request_id")]
        assert len(ids) == len(set(ids))
    assert [line for batch in batches(rows, 3) for line, _ in batch] == [r[0] for r in rows]
    assert list(batches([], 10)) == []


def record(uid: str, at: datetime) -> dict:
    return {"usage_id": uid, "recorded_at": at.isoformat()}


def test_report_counts_new_records_once_and_older_ones_as_skipped():
    report = Report(file="f")
    new = T0 + timedelta(milliseconds=5)
    report.tally([record("u1", new), record("old", T0 - timedelta(days=1)), record("u2", new)], T0)
    assert (report.recorded, report.skipped) == (2, 1)
    # a later batch returning a record this import wrote (same request id) skips it
    report.tally([record("u1", new)], T0 + timedelta(seconds=1))
    report.tally([record("u1", new)], T0)
    assert (report.recorded, report.skipped) == (2, 3)
    # a batch of records all written before the import began
    report.tally([record("x", T0 - timedelta(seconds=3))] * 2, T0)
    assert (report.recorded, report.skipped) == (2, 5)
    report.fail(9, "bad")
    report.fail(3, "worse")
    assert [f["line"] for f in report.as_dict()["failures"]] == [3, 9]
    assert report.as_dict()["failed"] == 2
