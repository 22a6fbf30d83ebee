"""Senders hand a batch's messages to the mail system over one connection per batch.

Each has `open()`, `send(subscriber, personalised, message_id, delivery_id) -> message id` and
`close()`, and
raises the failures of `failures` so the batch never sees an SMTP or ESP exception. Every sender
builds its messages with newsletter.mail.messages.MessageBuilder.
"""

from django.core.mail import mailers
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from newsletter.delivery.senders.backend import BackendSender
from newsletter.delivery.senders.esp import EspSender
from newsletter.delivery.senders.failures import Refused, Rejected, Transient
from newsletter.delivery.senders.smtp import SmtpSender

__all__ = [
    "BackendSender",
    "EspSender",
    "Refused",
    "Rejected",
    "SmtpSender",
    "Transient",
    "sender_for",
]


def sender_for(campaign):
    """The fast SMTP path when mail goes over Django's SMTP backend; an ESP (any anymail backend)
    in batch or concurrent calls; any other backend builds Django messages one by one."""
    backend = mailers.default
    if isinstance(backend, SmtpBackend):
        return SmtpSender(campaign, backend)
    if getattr(backend, "esp_name", None):
        return EspSender(campaign, backend)
    return BackendSender(campaign, backend)
