"""The default mailer and anymail's settings, from an environment mapping.

A function of the environment, not of os.environ, so a test can build MAILERS for any ESP.
EMAIL_URL uses django-environ's schemes (smtp://, smtp+tls://, smtp+ssl://, consolemail://,
memorymail://, dummymail://). ESP=<name> selects a django-anymail backend instead, its keys in
ANYMAIL_* variables (e.g. ANYMAIL_POSTMARK_SERVER_TOKEN). Neither set: .eml files in `outbox_dir`.
"""

import importlib.util
import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
DKIM_SMTP_BACKEND = "newsletter.mail.backends.DkimSmtpBackend"
DKIM_VARIABLES = ("DKIM_PRIVATE_KEY_PATH", "DKIM_SELECTOR", "DKIM_DOMAIN")
# anymail backends Engage uses a subclass of (newsletter/esp_backends.py says why).
OWN_BACKENDS = {"postmark": "newsletter.mail.esp_backends.EmailBackend"}
# The messages-a-second cap an ESP documents, the default for SEND_RATE_PER_SECOND. Amazon SES:
# an account's production quota starts at 14 (set yours). Postmark, SendGrid and Mailgun document
# no per-message cap; their 429s are what slows Engage down (newsletter/sendrate.py: pause).
ESP_RATE_PER_SECOND = {"amazon_ses": 14.0}


def default_mailer(environment: Mapping[str, str], *, outbox_dir: str, timeout: int) -> dict:
    esp = environment.get("ESP", "")
    if esp:
        if not esp.isidentifier() or importlib.util.find_spec(f"anymail.backends.{esp}") is None:
            raise ImproperlyConfigured(f"ESP={esp!r} is not a django-anymail backend.")
        return {"BACKEND": OWN_BACKENDS.get(esp, f"anymail.backends.{esp}.EmailBackend")}
    if not environment.get("EMAIL_URL"):
        # One .eml file per message, which a mail client opens with a double click.
        return {
            "BACKEND": "newsletter.mail.outbox.OutboxBackend",
            "OPTIONS": {"file_path": outbox_dir},
        }
    config = environ.Env.email_url_config(environment["EMAIL_URL"])
    if config["EMAIL_BACKEND"] != SMTP_BACKEND:
        return {"BACKEND": config["EMAIL_BACKEND"], "OPTIONS": {}}
    # Over plain SMTP Engage signs with DKIM itself when a key is configured (newsletter.mail.dkim).
    signs = all(environment.get(name) for name in DKIM_VARIABLES)
    return {
        "BACKEND": DKIM_SMTP_BACKEND if signs else SMTP_BACKEND,
        "OPTIONS": {
            "host": config["EMAIL_HOST"],
            "port": config["EMAIL_PORT"] or 25,
            "username": config["EMAIL_HOST_USER"],
            "password": config["EMAIL_HOST_PASSWORD"],
            "use_tls": config.get("EMAIL_USE_TLS", False),
            "use_ssl": config.get("EMAIL_USE_SSL", False),
            "timeout": timeout,
        },
    }


# anymail settings that are numbers: the environment gives strings, and requests refuses a
# string timeout.
NUMERIC_ANYMAIL_SETTINGS = ("REQUESTS_TIMEOUT",)


def anymail_settings(environment: Mapping[str, str]) -> dict:
    found = {
        key.removeprefix("ANYMAIL_"): value
        for key, value in environment.items()
        if key.startswith("ANYMAIL_")
    }
    for key, value in found.items():
        # anymail's switches (e.g. AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS): the string "false"
        # would count as on.
        if value.strip().lower() in ("true", "false"):
            found[key] = value.strip().lower() == "true"
    for key in NUMERIC_ANYMAIL_SETTINGS:
        if key in found:
            try:
                found[key] = float(found[key])
            except ValueError:
                raise ImproperlyConfigured(f"ANYMAIL_{key} must be a number of seconds.")
    return found


def default_send_rate(environment: Mapping[str, str]) -> float:
    """SEND_RATE_PER_SECOND when it is not set: the ESP's documented cap, else 0 (unlimited)."""
    return ESP_RATE_PER_SECOND.get(environment.get("ESP", ""), 0.0)


# Readers per send_batch task. Over SMTP (or one ESP call per message) a task sends one message at
# a time, and 200 keeps it short. An ESP with batch calls takes hundreds a call, ESP_CONCURRENCY
# calls at once, and each task costs its queries and a pool of connections: 2,000 is a full round
# of Postmark's batch calls (500 a call, four at once). At 50 ms a call, 20,000 readers through
# four worker processes went at 2,427 msg/s in tasks of 200 and 3,618 in tasks of 2,000
# (bench/RESULTS.md, 2026-12-08).
SMTP_BATCH_SIZE, ESP_BATCH_SIZE = 200, 2000


def default_batch_size(environment: Mapping[str, str], *, batch_calls: bool) -> int:
    """SEND_BATCH_SIZE when it is not set: larger through an ESP that takes batch calls. One
    call per message goes no faster in larger tasks, and fewer tasks share fewer processes."""
    return ESP_BATCH_SIZE if environment.get("ESP", "") and batch_calls else SMTP_BATCH_SIZE


def sns_cert_url_allow(environment: Mapping[str, str]) -> str:
    """SNS_CERT_URL_ALLOW: a URL prefix whose certificates are believed as Amazon SNS's, for a
    test's stand-in. Refused unless on a loopback address, so production cannot be pointed at
    a certificate of anyone's choosing."""
    value = environment.get("SNS_CERT_URL_ALLOW", "")
    if not value:
        return ""
    host = urlsplit(value).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or not value.endswith("/"):
        raise ImproperlyConfigured(
            "SNS_CERT_URL_ALLOW is for tests only: a URL on a loopback address, ending in /."
        )
    return value
