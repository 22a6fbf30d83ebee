"""Campaign messages: the one builder of their headers and bytes, whatever sends them.

The SMTP fast path hands `MessageBuilder.as_bytes` to the relay; every other path (an ESP through
anymail, the `.eml` outbox, locmem in tests, a staff test send) gets `MessageBuilder.as_email`, a
Django message whose attributes an ESP reads and whose MIME form (`message()`) is those same bytes.
So a header is written in one place, and `List-Unsubscribe` is a plain RFC 2369 list of `<URI>`s
on every path (Python's own folding turns a long URL into RFC 2047 encoded words, which mail
clients do not read as a list-unsubscribe link).
"""

import binascii
import email.policy
import functools
import secrets
from dataclasses import replace
from email import message_from_bytes
from email.header import Header
from email.headerregistry import Address
from email.utils import formataddr, formatdate, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, make_msgid

from newsletter.mail import verp
from newsletter.subscribers.addresses import safe_display_name


def new_message_id() -> str:
    """A unique Message-ID on the sending domain (not the host name, which leaks and varies)."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or settings.LIST_ID
    return make_msgid(domain=domain)


def display_address(name: str, email: str) -> str:
    """`"Name" <email>` with the name quoted or encoded as needed; a name cannot inject a header."""
    name = safe_display_name(name)
    return str(Address(display_name=name, addr_spec=email)) if name else email


def campaign_headers(
    campaign, *, unsubscribe_url: str, message_id: str, delivery_id: int | None = None
) -> dict[str, str]:
    """The headers every campaign message carries, whoever builds the message.

    List-Unsubscribe has both URIs: mail clients that support RFC 8058 POST to the https one (no
    login, no form); older ones send mail to the mailto one. Precedence: bulk is not a standard,
    but RFC 3834 tells auto-responders to stay quiet for it, which spares the sender hundreds of
    "out of office" replies per issue. With VERP on (BOUNCE_ADDRESS), the mailto address carries
    the delivery's signed token, so a request by mail names its reader (newsletter.inbound).
    """
    mailto = verp.unsubscribe_address(delivery_id)
    # The list's name is ours, not the campaign's: List-Id names the list (RFC 2919), and a
    # subject is free text that must not be able to shape a header.
    name = " ".join(settings.ORGANISATION_NAME.replace('"', "").replace("\\", "").split())
    return {
        "List-Unsubscribe": (f"<{unsubscribe_url}>, <mailto:{mailto}?subject=unsubscribe>"),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f'"{name}" <{settings.LIST_ID}>',
        "Message-ID": message_id,
        "Precedence": "bulk",
    }


class MessageBuilder:
    """Builds a campaign's messages, one per reader, from its rendered and personalised parts."""

    def __init__(self, campaign):
        self.campaign = campaign
        self.from_email = settings.DEFAULT_FROM_EMAIL
        self.from_header = from_line(self.from_email)
        # QP-encoded content never contains "==", so this boundary cannot occur in a part.
        self.boundary = f"===============engage{secrets.token_hex(8)}=="

    def headers(
        self, subscriber, personalised, message_id: str, delivery_id: int | None = None
    ) -> dict[str, str]:
        return campaign_headers(
            self.campaign,
            unsubscribe_url=personalised.unsubscribe_url,
            message_id=message_id,
            delivery_id=delivery_id,
        )

    def as_bytes(
        self, subscriber, personalised, message_id: str, delivery_id: int | None = None
    ) -> bytes:
        """The message as it goes over SMTP (CRLF line ends)."""
        return mime_bytes(
            from_header=self.from_header,
            to=display_address(subscriber.first_name, subscriber.email),
            subject=personalised.subject,
            headers=self.headers(subscriber, personalised, message_id, delivery_id),
            text=personalised.text,
            html=personalised.html,
            boundary=self.boundary,
        )

    def as_email(
        self, subscriber, personalised, message_id: str, delivery_id: int | None = None
    ) -> "CampaignEmail":
        """The message as a Django email, for any backend but the SMTP fast path."""
        message = CampaignEmail(
            personalised.subject,
            personalised.text,
            self.from_email,
            [display_address(subscriber.first_name, subscriber.email)],
            headers=self.headers(subscriber, personalised, message_id, delivery_id),
        )
        message.attach_alternative(personalised.html, "text/html")
        return message


def campaign_message(campaign, subscriber, personalised, *, message_id: str) -> "CampaignEmail":
    """One campaign message as a Django email (see MessageBuilder.as_email)."""
    return MessageBuilder(campaign).as_email(subscriber, personalised, message_id)


def staff_test_message(campaign, subscriber, personalised, *, message_id: str) -> "CampaignEmail":
    """A staff test send: the campaign message with "[Test]" before its subject."""
    personalised = replace(personalised, subject=f"[Test] {personalised.subject}")
    return campaign_message(campaign, subscriber, personalised, message_id=message_id)


class CampaignEmail(EmailMultiAlternatives):
    """A Django email whose MIME form is written by `mime_bytes`, not by Django: what an ESP
    reads (subject, to, parts, extra_headers) and what a file or SMTP backend writes agree."""

    def message(self, *, policy=email.policy.default):
        [(html, _)] = self.alternatives
        data = mime_bytes(
            from_header=from_line(self.from_email),
            to=self.to[0],
            subject=str(self.subject),
            headers=self.extra_headers,
            text=self.body,
            html=html,
            boundary=f"===============engage{secrets.token_hex(8)}==",
        )
        if isinstance(policy, email.policy.EmailPolicy):
            # Keep the headers as written: re-folding a long one is what makes encoded words.
            policy = policy.clone(refold_source="none")
        return message_from_bytes(data, policy=policy)


def mime_bytes(
    *,
    from_header: str,
    to: str,
    subject: str,
    headers: dict[str, str],
    text: str,
    html: str,
    boundary: str,
) -> bytes:
    """A multipart/alternative message (text, then HTML), each part quoted-printable."""
    # The display name cleaned and quoted exactly as display_address leaves it, then RFC
    # 2047-encoded when it is not ASCII.
    if not to.isascii():
        to = formataddr(parseaddr(to), charset="utf-8")
    lines = [
        from_header,
        header_line("To", to),
        _subject_line(subject),
        f"Date: {formatdate(usegmt=True)}",
        "MIME-Version: 1.0",
    ]
    lines.extend(header_line(key, value) for key, value in headers.items())
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    head = "\r\n".join(lines).encode()
    return b"".join(
        (
            head,
            b"\r\n\r\n--",
            boundary.encode(),
            b'\r\nContent-Type: text/plain; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            _qp(text),
            b"\r\n--",
            boundary.encode(),
            b'\r\nContent-Type: text/html; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            _qp(html),
            b"\r\n--",
            boundary.encode(),
            b"--\r\n",
        )
    )


def from_line(from_email: str) -> str:
    return header_line("From", formataddr(parseaddr(from_email), charset="utf-8"))


def header_line(name: str, value: str) -> str:
    """`Name: value` on one line when it is ASCII and fits; RFC 2047 words only for non-ASCII."""
    if value.isascii() and len(name) + len(value) < 990:
        return f"{name}: {value}"
    if name in ("From", "To"):
        # formataddr has already encoded a non-ASCII display name; the address stays as it is.
        return f"{name}: {value}"
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep='\r\n')}"


@functools.lru_cache(maxsize=64)
def _subject_line(subject: str) -> str:
    # Folded to one line: a line break in a subject would end the header. Cached: a campaign has
    # one subject, and encoding it is the costliest header.
    return header_line("Subject", " ".join(subject.split()))


def _qp(text: str) -> bytes:
    # CRLF line ends in, so that b2a_qp writes CRLF soft breaks too (SMTP's line end); a part
    # ends with a line end, as Django's do.
    if not text.endswith("\n"):
        text += "\n"
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    return binascii.b2a_qp(data, istext=True)
