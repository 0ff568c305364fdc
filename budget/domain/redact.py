"""Secrets kept out of everything Budget prints or logs.

A database or webhook URL is shown with its password (and any secret-looking
query parameter) replaced by ``***``; text that may quote such a URL (a
driver's error message) is scrubbed the same way.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
_SECRET_PARAMS = frozenset(
    {"password", "pass", "pwd", "secret", "token", "key", "api_key", "apikey", "access_token"}
)
# scheme://user:password@host  (the password may hold anything but "@" and spaces)
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:/@\s]*):[^@\s]*@")
_NAMES = "|".join(sorted(_SECRET_PARAMS))
_PARAM = re.compile(rf"(?<![A-Za-z0-9_])(?P<name>(?:{_NAMES})=)[^&\s'\"]+", re.IGNORECASE)
_KEY_SECRET = re.compile(r"\b(bgt|whsec)_[A-Za-z0-9_\-]{8,}")


def url(value: str) -> str:
    """``value`` with the password of its user-info and secret query values masked
    (the rest of the URL exactly as given)."""
    value = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", value)
    return _PARAM.sub(lambda m: f"{m['name']}{MASK}", value)


def text(value: str) -> str:
    """Free text (an error message, a log line) with any URL password, secret
    query value or Budget key secret in it masked."""
    return _KEY_SECRET.sub(lambda m: f"{m[1]}_{MASK}", url(value))


class LogFilter(logging.Filter):
    """Masks URL passwords, secret query values and key secrets in every log line
    (its message and its traceback) of the handler it is attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        masked = text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_text:
            record.exc_text = text(record.exc_text)
        return True
