"""ESP inbound routes (anymail's `inbound` signal): the message goes to the same entry point.

anymail has checked the webhook's signature before the signal is sent. The message is recorded
synchronously: the ESP retries a webhook that fails, as an MTA retries a pipe.
"""

from anymail.signals import AnymailInboundEvent

from newsletter.inbound.receive import receive


def handle_inbound(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    """Receiver of anymail's `inbound` signal (connected in NewsletterConfig.ready)."""
    message = event.message
    receive(
        message.as_bytes(),
        source=esp_name,
        envelope_to=getattr(message, "envelope_recipient", None) or "",
    )
