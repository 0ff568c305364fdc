"""The dashboard's session cookie: the API key a user logged in with and a CSRF
token, signed by the server (HMAC-SHA256) and kept HttpOnly, SameSite=Strict.

The key never travels in a URL and never reaches page scripts; every request
still checks it with the engine, so a revoked key ends its sessions at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response
from platformdirs import user_data_dir

from budget.settings import Settings

COOKIE = "budget_session"
CSRF_FIELD = "csrf"
SECRET_FILE = "dashboard-secret"


@dataclass(frozen=True)
class Session:
    """What the cookie holds: the key's secret (None on an open server), the
    CSRF token forms must echo, and when it was issued (epoch seconds)."""

    key: str | None
    csrf: str
    issued_at: float


def new_session(key: str | None = None) -> Session:
    return Session(key=key, csrf=secrets.token_urlsafe(24), issued_at=time.time())


def server_secret(settings: Settings) -> bytes:
    """The signing secret: the setting, else one generated once and kept in a file
    (0600) in the user data directory, so the workers of a machine share it."""
    if settings.dashboard_secret is not None:
        return settings.dashboard_secret.get_secret_value().encode()
    path = Path(user_data_dir("budget", appauthor=False)) / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{SECRET_FILE}.{os.getpid()}")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_urlsafe(48).encode())
    try:
        os.link(fresh, path)  # the first worker to get here wins; the others read its secret
    except FileExistsError:
        pass
    finally:
        fresh.unlink(missing_ok=True)
    return path.read_bytes().strip()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(session: Session, secret: bytes) -> str:
    """The cookie value: the session as JSON and its HMAC, both base64url."""
    body = json.dumps({"k": session.key, "c": session.csrf, "t": session.issued_at})
    payload = _b64(body.encode())
    mac = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(value: str | None, secret: bytes, max_age_seconds: float) -> Session | None:
    """The session in a cookie value, or None if it is missing, forged or expired."""
    if not value or value.count(".") != 1:
        return None
    payload, mac = value.split(".")
    expected = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        data = json.loads(_unb64(payload))
        session = Session(key=data["k"], csrf=str(data["c"]), issued_at=float(data["t"]))
    except (ValueError, KeyError, TypeError):
        return None
    if not 0 <= time.time() - session.issued_at <= max_age_seconds:
        return None
    return session


def _settings(request: Request) -> Settings:
    return request.app.state.service.settings


def _secret(request: Request) -> bytes:
    state = request.app.state
    cached = getattr(state, "dashboard_secret", None)
    if cached is None:
        cached = state.dashboard_secret = server_secret(_settings(request))
    return cached


def read(request: Request) -> Session | None:
    """This request's valid session, if it brought one."""
    max_age = _settings(request).dashboard_session_hours * 3600
    return verify(request.cookies.get(COOKIE), _secret(request), max_age)


def current(request: Request) -> Session:
    """The request's session, or a fresh keyless one (saved by :func:`save`)."""
    cached = getattr(request.state, "session", None)
    if cached is None:
        cached = read(request) or new_session()
        request.state.session = cached
    return cached


def save(request: Request, response: Response, session: Session) -> None:
    """Set the signed cookie: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    response.set_cookie(
        COOKIE,
        sign(session, _secret(request)),
        max_age=int(_settings(request).dashboard_session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def forget(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def csrf_ok(request: Request, token: str | None) -> bool:
    """A form's token equals its session's, and the request did not come from
    another origin (the SameSite=Strict cookie already keeps cross-site posts out)."""
    session = read(request)
    if session is None or not token or not hmac.compare_digest(session.csrf, token):
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        return origin.split("://", 1)[-1] == host
    return True
