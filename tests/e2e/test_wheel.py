"""The distribution: a wheel built from this tree installs in a clean virtual
environment and serves, with its migrations and price catalog inside.

Building and installing reach the package index (setuptools for the build,
the dependencies for the install), as ``make test`` itself does."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_wheel_installs_in_a_clean_venv_and_serves(tmp_path):
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", ROOT, cwd=ROOT)
    (wheel,) = (tmp_path / "dist").glob("budget_gate-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / "bin"
    _run(bin_dir / "pip", "install", "--quiet", wheel, cwd=tmp_path)
    database = f"sqlite:///{tmp_path / 'served.db'}"
    env = {"BUDGET_DATABASE_URL": database, "PATH": str(bin_dir), "HOME": str(tmp_path)}
    init = subprocess.run(
        [bin_dir / "budget", "init"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    imported = _run(bin_dir / "python", "-c", "import budget; print(budget.__file__)", cwd=tmp_path)
    assert str(tmp_path / "venv") in imported  # the installed copy, not this tree
    port = _port()
    server = subprocess.Popen(
        [bin_dir / "budget", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        root = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{root}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "the installed server did not come up"
            time.sleep(0.3)
        estimate = httpx.post(
            f"{root}/api/v1/estimate",
            json={"provider": "openai", "model": "gpt-4o", "input_tokens": 1000},
            timeout=10,
        )
        assert estimate.status_code == 200, estimate.text
        assert estimate.json()["priced"] is True  # the shipped catalog is inside the wheel
        page = httpx.get(f"{root}/", timeout=10)  # the dashboard's templates and files too
        assert page.status_code == 200 and "<h1>Overview</h1>" in page.text, page.text[:500]
        for asset in ("dashboard.css", "dashboard.js", "vendor/chart-4.6.1.umd.min.js"):
            assert httpx.get(f"{root}/static/{asset}", timeout=10).status_code == 200, asset
    finally:
        server.terminate()
        server.wait(timeout=30)
