"""Sending a batch of campaign messages through an ESP's HTTP API at the ESP's speed.

An ESP answers in tens of milliseconds, so one call per message, one after another, is bound by
latency. Two ways out, chosen per ESP (PROFILES):

- **Batch calls**: one anymail message with many `to`, each recipient's own values in
  `merge_data` (name, unsubscribe and preference URLs, tracking token), own headers in
  `merge_headers` (List-Unsubscribe, Message-ID) and own `merge_metadata` (the delivery id the
  ESP's webhooks echo back). The body carries merge fields where `rendering.personalise` would put
  values, written the way the ESP substitutes them.
- **Concurrent calls** where the ESP personalises only inside a stored template (Amazon SES's
  SendBulkEmail; any ESP without a profile): each message built by messages.MessageBuilder
  and sent over ESP_CONCURRENCY HTTP connections at once.

Either way, every recipient gets an Outcome of their own, so the ledger settles each row: a
partly failed call settles what was accepted and retries only the rest.

A call that times out may have been accepted: its recipients are retried (nothing is lost), so
each timed-out call can send its recipients twice — at most one call's worth (one batch) per
timeout. No ESP here offers an idempotency key that would prevent it.
"""

import contextlib
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
)
from django.conf import settings
from django.core.mail import mailers

from newsletter.delivery.senders import throttling
from newsletter.mail import rendering, sendrate, tracked_links
from newsletter.mail.esp_backends import MERGE_FIELD as POSTMARK_MERGE_FIELD
from newsletter.mail.esp_backends import EmailBackend as PostmarkBatchBackend
from newsletter.mail.messages import MessageBuilder, campaign_headers, display_address

# The headers that differ per recipient; the others are the same for the whole batch.
RECIPIENT_HEADERS = ("List-Unsubscribe", "Message-ID")


@dataclass(frozen=True)
class EspProfile:
    batch_size: int  # recipients per batch call; 0: no batch without a stored template
    merge_field: str = ""  # how the body names a merge field, "{}" being its name


# Keyed by anymail's esp_name. Sources: Postmark "Batch emails" (500 messages a call); SendGrid v3
# mail/send (1,000 personalizations); Mailgun batch sending (1,000 recipients a call, on-the-fly
# %recipient.x% templating); Amazon SES: SendBulkEmail (50) personalises only stored templates.
# Each ESP's documented rate cap is SEND_RATE_PER_SECOND's default (engage/mail_config.py).
NO_BATCH = EspProfile(0)
PROFILES = {
    "Postmark": EspProfile(500, POSTMARK_MERGE_FIELD),
    "SendGrid": EspProfile(1000, "%%engage.{}%%"),
    "Mailgun": EspProfile(1000, "%recipient.{}%"),
    "Amazon SES": NO_BATCH,
}


def profile_for(backend) -> EspProfile:
    esp_name = getattr(backend, "esp_name", "")
    profile = PROFILES.get(esp_name, NO_BATCH)
    if esp_name == "Postmark" and not isinstance(backend, PostmarkBatchBackend):
        # anymail's own Postmark backend personalises only stored templates.
        return NO_BATCH
    return profile


@dataclass(frozen=True)
class Outgoing:
    """One recipient's message: the ledger row, the reader, the body they get."""

    delivery_id: int
    subscriber: object  # a Subscriber
    body: rendering.RenderedBody
    tracked: bool
    message_id: str


@dataclass(frozen=True)
class Outcome:
    # SENT, BOUNCED (refused for good), REJECTED (this message, for good), RETRY (this
    # recipient, later), THROTTLED (the ESP asked the whole send to slow down: nobody's fault)
    status: str
    message_id: str = ""  # the ESP's id when sent (what its webhooks name)
    error: str = ""
    retry_after: float = 0.0  # how long the ESP asked us to wait (THROTTLED)


SENT, BOUNCED, REJECTED, RETRY, THROTTLED = "sent", "bounced", "rejected", "retry", "throttled"


class EspSender:
    """Sends Outgoing messages over an anymail backend; one instance per send_batch task."""

    batches = True  # the batch loop hands it many messages at once (send_many)

    def __init__(self, campaign, backend=None, *, batch=None, concurrency=None):
        self.campaign = campaign
        self.builder = MessageBuilder(campaign)
        backend = backend or mailers.default
        self.esp_name = getattr(backend, "esp_name", "")
        self.profile = profile_for(backend)
        if not (settings.ESP_BATCH_CALLS if batch is None else batch):
            self.profile = NO_BATCH
        self.concurrency = max(1, concurrency or settings.ESP_CONCURRENCY)
        # Messages handed over at a time: every connection busy with a full call.
        self.round_size = max(self.profile.batch_size, 10) * self.concurrency
        self._local = threading.local()
        self._backends = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="esp")

    def open(self) -> None:
        """Connections open in each pool thread on its first call."""

    def close(self) -> None:
        self._pool.shutdown()
        for backend in self._backends:
            with contextlib.suppress(Exception):
                backend.close()

    def send_many(self, items: list[Outgoing]) -> dict[int, Outcome]:
        """Every item's outcome, by delivery id. Calls run ESP_CONCURRENCY at a time."""
        limiter = sendrate.limiter()
        calls, outcomes = [], {}
        for group in _groups(items):
            while group:
                paused = sendrate.paused_for()
                if paused:
                    # The ESP throttled a call here or in another worker: the rest waits.
                    error = "The ESP asked us to slow down."
                    outcomes |= _all(group, Outcome(THROTTLED, error=error, retry_after=paused))
                    break
                # The global rate decides how many may go now; a call never carries more.
                allowed = limiter.take(len(group))
                size = min(allowed, self.profile.batch_size or 1)
                chunk, group = group[:size], group[size:]
                calls.append(self._pool.submit(self._call, chunk))
        for call in calls:
            outcomes.update(call.result())
        return outcomes

    # --- One call (in a pool thread) --------------------------------------------------------

    def _backend(self):
        backend = getattr(self._local, "backend", None)
        if backend is None:
            backend = self._local.backend = mailers.default
            backend.open()
            with self._lock:
                self._backends.append(backend)
        return backend

    def _call(self, chunk: list[Outgoing]) -> dict[int, Outcome]:
        if self.profile.batch_size and len(chunk) > 1:
            message = self._batch_message(chunk)
        else:
            message = self._single_message(chunk[0])
        try:
            self._backend().send_messages([message])
        except AnymailRecipientsRefused:
            pass  # every recipient refused: anymail_status says how, per recipient
        except AnymailInvalidAddress as error:
            return _all(chunk, Outcome(REJECTED, error=str(error)))
        except AnymailAPIError as error:
            return _all(chunk, _call_failed(error))
        except (AnymailError, OSError) as error:
            return _all(chunk, Outcome(RETRY, error=f"{type(error).__name__}: {error}"))
        return _per_recipient(chunk, message)

    def _single_message(self, item: Outgoing):
        personalised = rendering.personalise(
            item.body, item.subscriber, delivery_id=item.delivery_id if item.tracked else None
        )
        return self.builder.as_email(
            item.subscriber, personalised, item.message_id, item.delivery_id
        )

    def _batch_message(self, chunk: list[Outgoing]):
        first = chunk[0]
        template = merge_template(first.body, first.tracked, self.profile.merge_field)
        message = self.builder.as_email(first.subscriber, template, first.message_id)
        for name in RECIPIENT_HEADERS:
            message.extra_headers.pop(name, None)
        message.to = []
        message.merge_data, message.merge_headers, message.merge_metadata = {}, {}, {}
        for item in chunk:
            subscriber = item.subscriber
            message.to.append(display_address(subscriber.first_name, subscriber.email))
            values = rendering.recipient_values(
                subscriber, delivery_id=item.delivery_id if item.tracked else None, body=item.body
            )
            message.merge_data[subscriber.email] = merge_values(values)
            headers = campaign_headers(
                self.campaign,
                unsubscribe_url=values[rendering.UNSUBSCRIBE_URL][1],
                message_id=item.message_id,
                delivery_id=item.delivery_id,
            )
            message.merge_headers[subscriber.email] = {k: headers[k] for k in RECIPIENT_HEADERS}
            message.merge_metadata[subscriber.email] = {"delivery": str(item.delivery_id)}
        if self.esp_name == "SendGrid":
            # SendGrid substitutes literally whatever names it is given: say how they're written.
            message.esp_extra = {"merge_field_format": self.profile.merge_field}
        return message


def _groups(items: list[Outgoing]) -> Iterable[list[Outgoing]]:
    """Items that can share one batch call: the same body, tracked or not."""
    groups: dict[tuple, list[Outgoing]] = {}
    for item in items:
        groups.setdefault((id(item.body), item.tracked), []).append(item)
    return groups.values()


# --- Merge fields ---------------------------------------------------------------------------------


def _field(placeholder: str, part: str) -> str:
    # "%%ENGAGE_FIRST_NAME%%" → "engage_first_name_html": a name every ESP accepts.
    return f"{placeholder.strip('%').lower()}_{part}"


def merge_template(body: rendering.RenderedBody, tracked: bool, merge_field: str):
    """The body with a merge field wherever `personalise` would put a recipient's value."""
    html = body.html
    if not tracked:
        html = tracked_links.personalise_html(html, delivery_id=None)
    text = body.text
    placeholders = [rendering.FIRST_NAME, rendering.UNSUBSCRIBE_URL, rendering.PREFERENCES_URL]
    if tracked:
        placeholders.append(tracked_links.TRACK_PLACEHOLDER)
    placeholders.extend(mark for mark, _, _ in rendering.post_link_marks(body))
    for placeholder in placeholders:
        html = html.replace(placeholder, merge_field.format(_field(placeholder, "html")))
        text = text.replace(placeholder, merge_field.format(_field(placeholder, "text")))
    return rendering.Personalised(
        subject=body.subject,
        html=html,
        text=text,
        unsubscribe_url=merge_field.format(_field(rendering.UNSUBSCRIBE_URL, "text")),
    )


def merge_values(values: dict) -> dict[str, str]:
    """rendering.recipient_values as merge data: each placeholder's HTML and text value."""
    merged = {}
    for placeholder, (in_html, in_text) in values.items():
        merged[_field(placeholder, "html")] = in_html
        merged[_field(placeholder, "text")] = in_text
    return merged


# --- Results ------------------------------------------------------------------------------------


def _all(chunk: list[Outgoing], outcome: Outcome) -> dict[int, Outcome]:
    return {item.delivery_id: outcome for item in chunk}


def _call_failed(error: AnymailAPIError) -> Outcome:
    """The whole call failed: throttled, the ESP's fault, a timeout, or a request it refuses."""
    code = throttling.status_code(error)
    reason = str(error).splitlines()[0][:300]
    wait = throttling.esp_wait(error)
    if wait is not None:
        # Every worker waits: the pause lives in Redis next to the global rate.
        sendrate.pause(wait)
        error = f"The ESP asked us to slow down ({code or 'throttled'}): {reason}"
        return Outcome(THROTTLED, error=error, retry_after=wait)
    if code is not None and 400 <= code < 500:
        return Outcome(REJECTED, error=f"{code} from the ESP: {reason}")
    # 5xx, a timeout or a dropped connection: the ESP may even have accepted it; retried.
    return Outcome(RETRY, error=f"{code or 'No answer'} from the ESP: {reason}")


def _per_recipient(chunk: list[Outgoing], message) -> dict[int, Outcome]:
    status = getattr(message, "anymail_status", None)
    recipients = (status.recipients if status else None) or {}
    outcomes = {}
    for item in chunk:
        found = recipients.get(item.subscriber.email)
        if found is None:
            esp_id = status.message_id if status else None
            outcomes[item.delivery_id] = Outcome(SENT, message_id=_id(esp_id, item))
        elif found.status in ("rejected", "invalid"):
            outcomes[item.delivery_id] = Outcome(
                BOUNCED, error=f"The ESP refused the recipient ({found.status})."
            )
        elif found.status == "failed":
            outcomes[item.delivery_id] = Outcome(RETRY, error="The ESP could not send it.")
        else:
            outcomes[item.delivery_id] = Outcome(SENT, message_id=_id(found.message_id, item))
    return outcomes


def _id(esp_id, item: Outgoing) -> str:
    # The ESP's own id is what its webhooks name; any value counts (anymail's test ESP says 0).
    if esp_id is None or isinstance(esp_id, set):
        return item.message_id
    return str(esp_id)
