"""The README's curl walk-through, run as written against a real server."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough() -> str:
    text = README.read_text()
    section = text[text.index("### Walk-through with curl") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
def test_the_readme_walkthrough_ends_in_a_429(start_server):
    server = start_server()
    script = walkthrough().replace("http://127.0.0.1:8013", server.url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert '"cost_used": "0.0094"' in out
    assert "HTTP/1.1 429 Too Many Requests" in out
    assert re.search(r"(?i)retry-after: \d+", out)
    assert '"limit_kind":"usd"' in out and '"limit":"0.05"' in out
