"""The fast path: each message's bytes (newsletter.mail.messages) handed to one SMTP connection.
Django's EmailMessage costs about 2 ms a message; this costs a fraction of that."""

import contextlib
import re
import smtplib

from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from newsletter.delivery.senders import throttling
from newsletter.delivery.senders.failures import Refused, Rejected, Transient
from newsletter.mail import dkim, verp
from newsletter.mail.messages import MessageBuilder

_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+")


class SmtpSender:
    def __init__(self, campaign, backend: SmtpBackend):
        self.campaign = campaign
        self.backend = backend
        self.builder = MessageBuilder(campaign)
        self.envelope_from = backend.prep_address(self.builder.from_email)

    def open(self) -> None:
        try:
            self.backend.open()
        except (OSError, smtplib.SMTPException) as error:
            raise Transient(f"Could not connect: {_describe(error)}", relay=True)

    def close(self) -> None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            self.backend.close()

    def send(
        self, subscriber, personalised, message_id: str, delivery_id: int | None = None
    ) -> str:
        recipient = subscriber.email
        if not _PLAIN_ADDRESS.fullmatch(recipient):
            # Stored addresses are normalised; only an unusual one needs Django's full parser.
            try:
                recipient = self.backend.prep_address(recipient)
            except ValueError as error:
                raise Rejected(f"Cannot be sent to this address: {error}")
        data = dkim.sign(self.builder.as_bytes(subscriber, personalised, message_id, delivery_id))
        # VERP: bounces come back to an address that names this delivery (newsletter.inbound).
        envelope_from = (delivery_id and verp.bounce_address(delivery_id)) or self.envelope_from
        connection = self.backend.connection
        try:
            connection.sendmail(envelope_from, [recipient], data)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()), (0, b""))
            reason = f"{code} {_text(reply)}"
            if 500 <= code < 600:
                raise Refused(reason)
            raise Transient(reason, relay=_relay_failed(code, connection))
        except smtplib.SMTPDataError as error:
            reason = f"{error.smtp_code} {_text(error.smtp_error)}"
            if 500 <= error.smtp_code < 600:
                raise Rejected(reason)
            raise Transient(reason, relay=_relay_failed(error.smtp_code, connection))
        except smtplib.SMTPResponseException as error:
            # The sender refused, or 421 at MAIL: nothing to do with this recipient.
            reason = f"{error.smtp_code} {_text(error.smtp_error)}"
            raise Transient(reason, relay=True)
        except (smtplib.SMTPException, OSError) as error:
            raise Transient(_describe(error), relay=True)
        return message_id


def _relay_failed(code: int, connection) -> bool:
    # 421 is the server saying it is going away (RFC 5321 4.2.3), whatever the command; 454 is it
    # throttling the whole send; a dropped connection is the server's too. Any other 4xx is
    # about this recipient or message.
    return code == 421 or throttling.smtp_throttled(code) or connection.sock is None


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
