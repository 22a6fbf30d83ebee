"""The one entry point for mail that comes back: the raw bytes of one message, from any source.

It records the message once (by the hash of its bytes, or its Message-ID), classifies it, finds
whom it names and applies the effect, all in one transaction: if the database goes away half-way,
nothing is recorded, and the source (a mailbox, an MTA's queue, an ESP's retry) offers it again.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from newsletter.inbound import bounces, effects, matching, unsubscribe_proof
from newsletter.models import InboundMessage

log = logging.getLogger(__name__)

# What a message too big to read keeps for staff: its headers, and the start of its body.
KEPT_OF_REJECTED = 64 * 1024


@dataclass
class Received:
    row: InboundMessage
    created: bool  # False: a replay, nothing changed


def receive(raw: bytes, *, source: str, envelope_to: str = "", size: int | None = None) -> Received:
    """`size`: the message's whole size, when `raw` is only its start (a source that would not
    fetch a message over INBOUND_MAX_BYTES)."""
    digest = hashlib.sha256(raw).hexdigest()
    existing = InboundMessage.objects.filter(digest=digest).first()
    if existing is not None:
        return Received(existing, created=False)
    row = _classified(
        raw, source=source, digest=digest, envelope_to=envelope_to, size=size or len(raw)
    )
    try:
        with transaction.atomic():
            if row.message_id:
                _one_copy_at_a_time(row.message_id)
                existing = InboundMessage.objects.filter(message_id=row.message_id).first()
                if existing is not None:
                    # The same message again: redelivered by a relay with other trace headers, or
                    # the copy for another of its recipients (an MTA hands over one per address).
                    _also_for(existing, row)
                    return Received(existing, created=False)
            row.save()
            effects.apply(
                effects.Event(
                    row.kind,
                    row.subscriber_id,
                    row.delivery_id,
                    timezone.now(),
                    who_failed=row.who_failed,
                    diagnostic=row.reason,
                )
            )
    except IntegrityError:
        # Recorded by a concurrent poll or pipe run in the meantime.
        return Received(InboundMessage.objects.get(digest=digest), created=False)
    except DataError as error:
        # A value the database refuses, which nothing above foresaw: recorded bare, so that a
        # mailbox's poll does not stop at this message every time.
        row = InboundMessage.objects.create(
            source=row.source,
            digest=digest,
            size=row.size,
            raw=raw[:KEPT_OF_REJECTED],
            kind=InboundMessage.Kind.REJECTED,
            reason=f"could not be stored: {error}"[:1000].replace("\x00", ""),
        )
    log.info("inbound %s from %s: %s %s", row.pk, source, row.kind, row.reason)
    return Received(row, created=True)


def _one_copy_at_a_time(message_id: str) -> None:
    """Copies of one message for several of our addresses arrive at once (Postfix runs a pipe for
    each, in parallel): the first records it, the others wait for its commit and then find it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [message_id])


def _also_for(existing: InboundMessage, copy: InboundMessage) -> None:
    """A message to several readers is recorded once and acted on for each: the copy that names
    another reader than the recorded one (a request sent to two readers' unsubscribe addresses)
    applies its effect to that reader too, and says so on the record."""
    if copy.subscriber_id is None or copy.subscriber_id == existing.subscriber_id:
        return
    note = f"also for subscriber #{copy.subscriber_id}"
    if note in existing.reason:
        return
    if copy.delivery_id:
        # Before the effect: that reader's soft-bounce streak is counted from the records.
        existing.also_deliveries.add(copy.delivery_id)
    effects.apply(
        effects.Event(
            copy.kind,
            copy.subscriber_id,
            copy.delivery_id,
            timezone.now(),
            who_failed=copy.who_failed,
            diagnostic=copy.reason,
        )
    )
    InboundMessage.objects.filter(pk=existing.pk).update(reason=f"{existing.reason}; {note}")


def _classified(
    raw: bytes, *, source: str, digest: str, envelope_to: str, size: int
) -> InboundMessage:
    row = InboundMessage(source=source[:40], digest=digest, size=size, raw=raw)
    if size > settings.INBOUND_MAX_BYTES:
        row.kind = InboundMessage.Kind.REJECTED
        row.reason = f"too large: {size} bytes (INBOUND_MAX_BYTES is {settings.INBOUND_MAX_BYTES})"
        row.raw = raw[:KEPT_OF_REJECTED]
        return row
    message = bounces.parse(raw)
    if not message.keys():
        row.kind = InboundMessage.Kind.REJECTED
        row.reason = "not an email message: no headers"
        return row
    row.message_id = bounces.header(message, "Message-ID")[:255]
    try:
        found = bounces.classify(message, envelope_to=envelope_to)
    except Exception as error:  # noqa: BLE001
        # A shape no one foresaw must not stop a mailbox's poll at this message for ever: it is
        # recorded, for staff to read, and the poll goes on.
        log.exception("inbound message could not be classified")
        row.kind = InboundMessage.Kind.REJECTED
        row.reason = f"could not be classified: {type(error).__name__}: {error}"[:1000]
        return row
    proof = ("", "")
    if found.kind == InboundMessage.Kind.UNSUBSCRIBE:
        proof = unsubscribe_proof.verified_sender(message)
    matched = matching.match(found, sender_proof=proof)
    row.kind = found.kind
    row.recipient = found.recipient[:254]
    row.who_failed = found.who_failed
    row.delivery = matched.delivery
    row.subscriber = matched.subscriber
    reason = found.reason
    if matched.note:
        reason = f"{reason} — unmatched: {matched.note}"
    row.reason = reason
    return row
