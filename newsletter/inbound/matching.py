"""Which delivery and subscriber an inbound message names, if any.

A signed VERP token names its delivery outright. Without one (an MTA that rewrote the envelope, a
feedback loop that returns the original), the returned message's Message-ID must be one of ours and
the failed address its subscriber's. Anything less names no one: a forged report must not be able
to suppress an address just by mentioning it.
"""

from dataclasses import dataclass

from django.conf import settings

from newsletter.inbound import bounces as c
from newsletter.mail import verp
from newsletter.models import Delivery, Subscriber


@dataclass
class Match:
    delivery: Delivery | None = None
    subscriber: Subscriber | None = None
    note: str = ""  # why nothing matched


def match(found: c.Classified, *, sender_proof: tuple[str, str] = ("", "")) -> Match:
    """`sender_proof`: for a request by mail, the From address DMARC vouches for, or why none
    (newsletter.inbound.unsubscribe_proof)."""
    if found.kind in (c.Kind.HARD_BOUNCE, c.Kind.SOFT_BOUNCE, c.Kind.COMPLAINT):
        return _report(found)
    if found.kind == c.Kind.UNSUBSCRIBE:
        return _unsubscribe(found, sender_proof)
    return Match()


def _report(found: c.Classified) -> Match:
    if settings.BOUNCE_ADDRESS:
        where = [*found.to, found.original_return_path]
        token = verp.token_in(settings.BOUNCE_ADDRESS, where)
        if token is not None:
            return _by_token(verp.BOUNCE, token)
    delivery = _by_message_id(found.original_message_id)
    if delivery is None:
        if not found.original_message_id:
            return Match(note="no VERP token and no returned message: names no delivery")
        return Match(note="the returned message is not one of ours (another list's?)")
    subscriber = delivery.subscriber
    if subscriber is None:
        return Match(delivery=delivery, note="the subscriber was erased")
    if found.recipient and found.recipient != subscriber.email:
        return Match(note="the failed address is not the delivery's subscriber")
    return Match(delivery=delivery, subscriber=subscriber)


def _unsubscribe(found: c.Classified, sender_proof: tuple[str, str]) -> Match:
    token = verp.token_in(settings.UNSUBSCRIBE_MAILTO, found.to)
    if token is not None:
        return _by_token(verp.UNSUBSCRIBE, token)
    # A plain mailto: (VERP off, or a person writing to the address): the sender asks for
    # themselves, as RFC 2369 intends, but only a sender our receiving server vouches for (anyone
    # can write any From).
    sender, why_not = sender_proof
    if not sender:
        return Match(note=f"unverified: no token in the address, and {why_not}")
    subscriber = Subscriber.objects.filter(email=sender).first()
    if subscriber is None:
        return Match(note="the sender is not a subscriber")
    return Match(subscriber=subscriber)


def _by_token(purpose: str, token: str) -> Match:
    try:
        delivery_id = verp.read_token(purpose, token)
    except verp.BadToken as error:
        return Match(note=f"VERP token refused: {error}")
    delivery = Delivery.objects.select_related("subscriber").filter(pk=delivery_id).first()
    if delivery is None:
        return Match(note="VERP token for a delivery that no longer exists")
    if delivery.subscriber is None:
        return Match(delivery=delivery, note="the subscriber was erased")
    return Match(delivery=delivery, subscriber=delivery.subscriber)


def _by_message_id(message_id: str) -> Delivery | None:
    bare = message_id.strip("<>")
    if not bare:  # none, or just "<>": an unsent row has no Message-ID either
        return None
    found = list(
        Delivery.objects.filter(message_id__in=[bare, f"<{bare}>"]).select_related("subscriber")[:2]
    )
    return found[0] if len(found) == 1 else None
