"""Any Django email backend but SMTP (an ESP through anymail, the .eml outbox, locmem)."""

import contextlib

from newsletter.delivery.senders import throttling
from newsletter.delivery.senders.failures import Refused, Rejected, Transient
from newsletter.mail.messages import MessageBuilder


class BackendSender:
    def __init__(self, campaign, backend):
        self.campaign = campaign
        self.backend = backend
        self.builder = MessageBuilder(campaign)

    def open(self) -> None:
        try:
            self.backend.open()
        except OSError as error:
            raise Transient(f"Could not connect: {error}", relay=True)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.backend.close()

    def send(
        self, subscriber, personalised, message_id: str, delivery_id: int | None = None
    ) -> str:
        from anymail.exceptions import (
            AnymailAPIError,
            AnymailError,
            AnymailInvalidAddress,
            AnymailRecipientsRefused,
        )

        message = self.builder.as_email(subscriber, personalised, message_id, delivery_id)
        try:
            self.backend.send_messages([message])
        except AnymailRecipientsRefused as error:
            raise Refused(str(error))
        except AnymailInvalidAddress as error:
            raise Rejected(str(error))
        except AnymailAPIError as error:
            if throttling.esp_wait(error) is not None:
                raise Transient(f"The ESP asked us to slow down: {error}", relay=True)
            code = throttling.status_code(error)
            if code is not None and 400 <= code < 500:
                raise Rejected(str(error))
            # No answer or 5xx: the ESP itself is failing.
            raise Transient(str(error), relay=True)
        except AnymailError as error:
            raise Transient(str(error), relay=False)
        except OSError as error:
            raise Transient(str(error), relay=True)
        status = getattr(message, "anymail_status", None)
        if status is None:
            return message_id
        recipient = (status.recipients or {}).get(subscriber.email)
        if recipient is not None:
            if recipient.status in ("rejected", "invalid"):
                raise Refused(f"The ESP refused the recipient ({recipient.status}).")
            if recipient.status == "failed":
                raise Transient("The ESP could not send it (failed).", relay=False)
            esp_id = recipient.message_id
        else:
            esp_id = status.message_id
        # The ESP's own id is what its webhooks name; any value counts (anymail's test ESP says 0).
        return message_id if esp_id is None else str(esp_id)
