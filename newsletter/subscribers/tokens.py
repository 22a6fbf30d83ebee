"""Signed links for subscribers, each bound to one purpose.

Confirmation links expire (CONFIRMATION_MAX_AGE); unsubscribe and preference links do not, because
they sit in old emails that must keep working (RFC 8058 expects a one-click link to keep working).
The way back after unsubscribing ("way-back") works for WAY_BACK_DAYS: after that, coming back is
a new opt-in.
"""

import functools

from django.conf import settings
from django.core import signing
from django.urls import reverse

# Tracking: a delivery's token in its tracked links and pixel, and a signature over (campaign,
# URL) so the click redirect goes only to a link that was in that campaign.
_delivery_signer = signing.Signer(salt="engage.track")
_link_signer = signing.Signer(salt="engage.track-link")

PURPOSES = ("confirm", "preferences", "unsubscribe", "way-back")
# How long a reader who unsubscribed may come back without a new opt-in (issue 25).
WAY_BACK_DAYS = 30
# Purposes whose links carry the time they were made, and how long they work (seconds).
_MAX_AGE = {
    "confirm": lambda: settings.CONFIRMATION_MAX_AGE,
    "way-back": lambda: WAY_BACK_DAYS * 86400,
}
# Links about one post for one reader: the signed value is "<reader>:<post id>", so a link made
# for one event cannot answer another. A visitor's RSVP (no subscriber) is its row: "g<id>".
# They do not expire: like unsubscribe links, they sit in old emails and change an answer later.
POST_PURPOSES = ("rsvp", "interest")


class BadToken(Exception):
    """Forged, altered, expired, or made for another purpose."""


def make_token(purpose: str, subscriber_id: int) -> str:
    assert purpose in PURPOSES
    signer = _signer(purpose)
    return signer.sign(str(subscriber_id))


def read_token(purpose: str, token: str) -> int:
    """The subscriber id in `token`, or BadToken."""
    assert purpose in PURPOSES
    signer = _signer(purpose)
    try:
        if purpose in _MAX_AGE:
            value = signer.unsign(token, max_age=_MAX_AGE[purpose]())
        else:
            value = signer.unsign(token)
        return int(value)
    except (signing.BadSignature, ValueError) as error:
        raise BadToken(str(error)) from error


def make_post_token(purpose: str, reader: int | str, post_id: int) -> str:
    assert purpose in POST_PURPOSES
    return _signer(purpose).sign(f"{reader}:{post_id}")


def read_post_token(purpose: str, token: str) -> tuple[str, int]:
    """(reader, post id) from `token`, or BadToken. A reader is a subscriber id, or "g<rsvp id>"
    for a visitor."""
    assert purpose in POST_PURPOSES
    try:
        reader, post_id = _signer(purpose).unsign(token).split(":")
        return reader, int(post_id)
    except (signing.BadSignature, ValueError) as error:
        raise BadToken(str(error)) from error


def _signer(purpose: str) -> signing.Signer:
    salt = f"engage.{purpose}"
    if purpose in _MAX_AGE:
        return signing.TimestampSigner(salt=salt)
    return signing.Signer(salt=salt)


def absolute_url(path: str) -> str:
    return settings.SITE_URL + path


@functools.cache
def _route(name: str) -> tuple[str, str]:
    # Delivery builds two links per message: reverse() once per route, not per recipient.
    # (Tokens are URL-safe, so reverse() would not quote them either.)
    before, after = reverse(name, args=["TOKEN"]).split("TOKEN")
    return before, after


def _link(purpose: str, subscriber_id: int) -> str:
    before, after = _route(purpose)
    return f"{settings.SITE_URL}{before}{make_token(purpose, subscriber_id)}{after}"


def confirm_url(subscriber_id: int) -> str:
    return _link("confirm", subscriber_id)


def preferences_url(subscriber_id: int) -> str:
    return _link("preferences", subscriber_id)


def unsubscribe_url(subscriber_id: int) -> str:
    return _link("unsubscribe", subscriber_id)


def way_back_url(subscriber_id: int) -> str:
    return _link("way-back", subscriber_id)


def way_back_reader(token: str) -> tuple[int, bool]:
    """(subscriber id, whether the link is still within WAY_BACK_DAYS) from a genuine way-back
    link; BadToken when it is forged or altered."""
    try:
        return read_token("way-back", token), True
    except BadToken as error:
        if not isinstance(error.__cause__, signing.SignatureExpired):
            raise
    try:
        return int(_signer("way-back").unsign(token)), False
    except (signing.BadSignature, ValueError) as error:
        raise BadToken(str(error)) from error


def post_link(purpose: str, reader: int | str, post_id: int) -> str:
    before, after = _route(purpose)
    return f"{settings.SITE_URL}{before}{make_post_token(purpose, reader, post_id)}{after}"


# --- Tracking -------------------------------------------------------------------------------


def delivery_token(delivery_id: int) -> str:
    return _delivery_signer.sign(str(delivery_id))


def read_delivery_token(token: str) -> int:
    try:
        return int(_delivery_signer.unsign(token))
    except (signing.BadSignature, ValueError) as error:
        raise BadToken("This link is not valid.") from error


def link_signature(campaign_id: int, url: str) -> str:
    return _link_signer.sign(_link_value(campaign_id, url)).rpartition(_link_signer.sep)[2]


def link_signature_valid(campaign_id: int, url: str, signature: str) -> bool:
    # unsign() also accepts signatures made with SECRET_KEY_FALLBACKS, so a key rotation does not
    # break the links in emails already sent.
    try:
        _link_signer.unsign(f"{_link_value(campaign_id, url)}{_link_signer.sep}{signature}")
    except signing.BadSignature:
        return False
    return True


def _link_value(campaign_id: int, url: str) -> str:
    return f"{campaign_id}\n{url}"
