"""Logs that keep what erasure removes out: no bearer token, no address, no admin search.

A link's token is a bearer credential (whoever has it may change that reader's preferences, or
unsubscribe them), and an address is personal data that erasure must remove. Both get into logs
through request paths (gunicorn's access log, Django's "Not Found: /confirm/…"), query strings
(an admin search for an address) and referers. `redact()` is the one rule; the Django filter and
gunicorn's logger class (./gunicorn.conf.py) both apply it.

An expected 403 (PermissionDenied: a staff member without the right) is one line at INFO, not a
WARNING with a traceback: any staff account could otherwise flood the log.
"""

import logging
import re

from gunicorn.glogging import Logger as GunicornLogger

# The public paths whose segment after the prefix is a signed token (engage/urls.py).
TOKEN_PATH = re.compile(
    r"(/(?:confirm|preferences|unsubscribe|rsvp|involved|t/c|t/o)/)[^/?#\s\"']+?(\.gif)?(?=[/?#\s\"']|$)"
)
ADDRESS = re.compile(r"[\w.!#$%&'*+=^`{|}~-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
QUERY = re.compile(r"\?[^\s\"']*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` without tokens in link paths, without query strings and without addresses."""
    text = TOKEN_PATH.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(2) or ''}", text)
    text = QUERY.sub("?" + REDACTED, text)
    return ADDRESS.sub("[address]", text)


class RedactFilter(logging.Filter):
    """Rewrites each record's message (and its traceback text) through `redact()`."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if getattr(record, "request", None) is not None:  # JSON logs print every extra
            record.request = redact(repr(record.request))
        return True


class ExpectedForbiddenFilter(logging.Filter):
    """django.request's "Forbidden (Permission denied)" becomes one INFO line, no traceback."""

    def filter(self, record):
        if record.name == "django.request" and getattr(record, "status_code", None) == 403:
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def config(*, level: str, json: bool) -> dict:
    """Django's LOGGING: every record through the filters above, plain or JSON lines."""
    formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if json
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "engage",
        "filters": ["expected_forbidden", "redact"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"engage": formatter},
        "filters": {
            "redact": {"()": RedactFilter},
            "expected_forbidden": {"()": ExpectedForbiddenFilter},
        },
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # runserver's request lines (make run): through the same filters.
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # flufl.bounce logs every detector it tries, for every inbound message, at INFO.
            "flufl.bounce": {"level": "WARNING"},
            # django-axes logs every sign-in at INFO; sign-ins are in the audit trail, and a
            # lockout is a WARNING.
            "axes": {"level": "WARNING"},
        },
    }


class AccessLogger(GunicornLogger):
    """gunicorn's logger (`logger_class` in ./gunicorn.conf.py): the access log's request line,
    path, query string and referer go through `redact()`; errors too."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q", "f", "{raw_uri}"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers + self.access_log.handlers:
            handler.addFilter(RedactFilter())
