"""VERP: a signed, per-delivery token in the local part of an address (RFC 5233 subaddress).

`bounces+<token>@news.example.org` is each campaign message's envelope sender, so a delivery
status notification names its delivery without guessing; `unsubscribe+<token>@…` in the
`mailto:` of List-Unsubscribe does the same for a request by mail.

The token is `<delivery id>-<day issued>-<signature>`, all in lower-case base 36 and hex, because
MTAs and mailbox stores may fold the case of a local part (base64 signatures would not survive).
The signature is Django's salted HMAC of the SECRET_KEY (what django.core.signing uses), bound to
its purpose and cut to 80 bits: enough that it cannot be guessed, short enough for the 64-character
limit of a local part. Bounce tokens expire (a report comes within days); unsubscribe tokens do not,
as an old email's opt-out must keep working.
"""

import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

BOUNCE = "bounce"
UNSUBSCRIBE = "unsubscribe"
_SIGNATURE_LENGTH = 20
_DAY = 24 * 3600
_TOKEN = re.compile(r"^([0-9a-z]{1,13})-([0-9a-z]{1,6})-([0-9a-f]{20})$")


class BadToken(Exception):
    """Forged, altered, expired, or made for another purpose."""


@dataclass(frozen=True)
class Token:
    delivery_id: int
    purpose: str


def make_token(purpose: str, delivery_id: int, *, now: float | None = None) -> str:
    day = int((time.time() if now is None else now) // _DAY)
    payload = f"{_base36(delivery_id)}-{_base36(day)}"
    return f"{payload}-{_sign(purpose, payload)}"


def read_token(purpose: str, token: str, *, now: float | None = None) -> int:
    """The delivery id in `token`, or BadToken."""
    match = _TOKEN.match(token.lower())
    if not match:
        raise BadToken("not a token")
    delivery, day, signature = match.groups()
    if not constant_time_compare(signature, _sign(purpose, f"{delivery}-{day}")):
        raise BadToken("bad signature")
    if purpose == BOUNCE:
        age_days = (time.time() if now is None else now) // _DAY - int(day, 36)
        if age_days > settings.BOUNCE_TOKEN_MAX_AGE_DAYS:
            raise BadToken(f"expired {age_days:.0f} days ago")
    return int(delivery, 36)


def address(base: str, token: str) -> str:
    """`bounces@example.org` + token → `bounces+<token>@example.org`."""
    local, _, domain = base.rpartition("@")
    return f"{local}+{token}@{domain}"


def bounce_address(delivery_id: int) -> str | None:
    """The envelope sender of a delivery's message, or None without BOUNCE_ADDRESS (no VERP)."""
    if not settings.BOUNCE_ADDRESS:
        return None
    return address(settings.BOUNCE_ADDRESS, make_token(BOUNCE, delivery_id))


def unsubscribe_address(delivery_id: int | None) -> str:
    """The `mailto:` of List-Unsubscribe: with a token when VERP is on and the message has a
    delivery (a test send has none), the plain UNSUBSCRIBE_MAILTO otherwise."""
    if not settings.BOUNCE_ADDRESS or delivery_id is None:
        return settings.UNSUBSCRIBE_MAILTO
    return address(settings.UNSUBSCRIBE_MAILTO, make_token(UNSUBSCRIBE, delivery_id))


def token_in(base: str, addresses) -> str | None:
    """The token of the first of `addresses` that is `base` with a subaddress, if any."""
    local, _, domain = base.lower().rpartition("@")
    prefix = f"{local}+"
    for candidate in addresses:
        got_local, _, got_domain = candidate.lower().strip().strip("<>").rpartition("@")
        if got_domain == domain and got_local.startswith(prefix):
            return got_local[len(prefix) :]
    return None


def _sign(purpose: str, payload: str) -> str:
    return salted_hmac(f"engage.verp.{purpose}", payload, algorithm="sha256").hexdigest()[
        :_SIGNATURE_LENGTH
    ]


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out
