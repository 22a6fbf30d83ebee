"""What Engage checks of an ESP webhook on top of anymail's own checks, before believing it.

- A body that anymail's validators cannot even read (JSON `null` where Amazon SNS's envelope
  should be, a list where Mailgun's signature block should be) is the caller's mistake: a 400,
  not a 500 that the ESP would retry for days.
- Mailgun signs a timestamp and a random token, not the body, so a captured call could be posted
  again with another event in it. Mailgun's own advice: refuse an old timestamp, and a token
  already used. A token is remembered only once its call has been accepted, so that a call we
  failed on (a 5xx) can still be retried by Mailgun with the same token.
- Amazon SNS signs each message (Amazon SES's events) with a certificate of its own, which
  anymail does not check: newsletter.inbound.sns_signature does.

The ESPs that sign the body itself (Mandrill, MailerSend, Postal, SendGrid, Unisender Go, Resend
with svix, Amazon SES through SNS) need neither: a changed body fails their signature, and the same
body again is the same event, stored once. Those that only have basic auth (Postmark, Brevo,
Mailjet, SparkPost, Mailtrap, Resend without ANYMAIL_RESEND_SIGNING_SECRET) cannot tell a replay
from a new call by anyone who holds the password; a replayed event is still stored once, by its
ESP event id.
"""

import json
import time

from anymail.exceptions import AnymailWebhookValidationFailure
from django.core.cache import cache
from django.core.exceptions import BadRequest

from newsletter.inbound import sns_signature

# Mailgun retries a webhook for 8 hours; a day covers that with room for clock skew.
REPLAY_WINDOW_SECONDS = 24 * 3600

# What anymail's validators raise on a body of the wrong shape, before any signature is checked.
UNREADABLE = (ValueError, KeyError, TypeError, AttributeError, IndexError)


def validated(esp_name: str, request, run_validators) -> None:
    """Run anymail's validators (`run_validators`), then Engage's own checks."""
    try:
        run_validators(request)
    except UNREADABLE as error:
        raise BadRequest(f"Malformed {esp_name} webhook payload.") from error
    if esp_name == "Mailgun":
        _refuse_stale_or_used_token(request)
    if esp_name == "Amazon SES":
        # anymail's validators have read the body as a JSON object by now.
        sns_signature.verify(json.loads(request.body))


def accepted(esp_name: str, request) -> None:
    """The call has been acted on: its one-time proof may not be used again."""
    if esp_name == "Mailgun":
        signed = _mailgun_signature(request)
        if signed is not None:
            cache.set(_key(signed[1]), 1, 2 * REPLAY_WINDOW_SECONDS)


def _refuse_stale_or_used_token(request) -> None:
    signed = _mailgun_signature(request)
    if signed is None:
        raise AnymailWebhookValidationFailure("Mailgun webhook without a signature block")
    timestamp, token = signed
    try:
        age = abs(time.time() - float(timestamp))
    except ValueError:
        raise AnymailWebhookValidationFailure("Mailgun webhook timestamp is not a number")
    if age > REPLAY_WINDOW_SECONDS:
        raise AnymailWebhookValidationFailure(f"Mailgun webhook signed {age:.0f} s ago: too old")
    if cache.get(_key(token)) is not None:
        raise AnymailWebhookValidationFailure("Mailgun webhook token used before: a replay")


def _mailgun_signature(request) -> tuple[str, str] | None:
    """(timestamp, token) from Mailgun's JSON body, or from its form fields (inbound routes)."""
    if request.content_type == "application/json":
        try:
            block = json.loads(request.body).get("signature") or {}
            return str(block["timestamp"]), str(block["token"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
    if "token" in request.POST and "timestamp" in request.POST:
        return request.POST["timestamp"], request.POST["token"]
    return None


def _key(token: str) -> str:
    return f"webhook-token:mailgun:{token[:200]}"
