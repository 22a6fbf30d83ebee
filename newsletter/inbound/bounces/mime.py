"""Reading a message as it came, whatever it holds: headers as text (non-UTF-8 and NUL bytes
included), parts by type, the returned message, a report's field blocks."""

import email.policy
import re
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

# Where the envelope recipient shows in a delivered message (Postfix, Exim, Dovecot LDA, Gmail).
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
# How much of a plain-text bounce is read for its reason: the returned message follows it.
READ_CHARS = 8000


def parse(raw: bytes) -> Message:
    # compat32 keeps every header as the bytes said, without raising on broken ones.
    return BytesParser(policy=email.policy.compat32).parsebytes(raw)


def decoded_header(message: Message, name: str) -> str:
    value = header(message, name)
    try:
        parts = decode_header(value)
    except Exception:  # noqa: BLE001 — a broken encoded-word reads as it stands
        return value
    words = []
    for data, charset in parts:
        if isinstance(data, bytes):
            try:
                data = data.decode(charset or "ascii", "replace")
            except LookupError:
                data = data.decode("utf-8", "replace")
        words.append(data)
    return "".join(words)


def recipients_of(message: Message, envelope_to: str) -> list[str]:
    found = [envelope_to] if envelope_to else []
    for name in RECIPIENT_HEADERS:
        values = [header_text(value) for value in message.get_all(name) or []]
        found.extend(address for _, address in getaddresses(values))
    return [bare(address) for address in found if address]


def sender_of(message: Message) -> str:
    return bare(parseaddr(header(message, "From"))[1])


def find_part(message: Message, content_type: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def returned_message(message: Message) -> Message | None:
    """The returned message (or its headers) inside a report."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
        if kind in ("text/rfc822-headers", "message/global-headers"):
            return parse(part.get_payload(decode=True) or b"")
    return None


def field_blocks(status: Message) -> list[dict]:
    """The per-message and per-recipient field blocks of a message/delivery-status part."""
    payload = status.get_payload()
    if isinstance(payload, list):
        return [fields_of(block) for block in payload]
    # Not split into blocks by the parser (a non-multipart shape): split by blank lines.
    text = decoded_text(status) if isinstance(payload, str) else ""
    blocks = re.split(r"\r?\n\s*\r?\n", text)
    return [fields_of(parse(block.strip().encode("utf-8", "replace"))) for block in blocks]


def fields_of(block: Message) -> dict:
    if isinstance(block.get_payload(), list):  # a feedback part parsed as a one-block container
        inner = block.get_payload()
        block = inner[0] if inner else block
    fields = {key.lower(): header_text(value) for key, value in block.items()}
    if not fields:
        # A message/feedback-report body is parsed as text: its fields are the body's lines.
        fields = {key.lower(): header_text(value) for key, value in parse(raw_bytes(block)).items()}
    return fields


def body_text(message: Message) -> str:
    for part in message.walk():
        if not part.is_multipart() and part.get_content_maintype() in ("text", "application"):
            return decoded_text(part)[:200_000]
    return ""


def decoded_text(part: Message) -> str:
    """A part's text, whatever its transfer encoding and charset said (or lied)."""
    data = raw_bytes(part)
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, "replace").replace("\x00", "")
    except LookupError:
        return data.decode("utf-8", "replace").replace("\x00", "")


def raw_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def oneline(text: str) -> str:
    return " ".join(text.split())


def header(message: Message, name: str) -> str:
    value = message.get(name)
    return header_text(value) if value is not None else ""


def header_text(value) -> str:
    """A header as text, whatever bytes it held (non-UTF-8 headers come through as surrogates)."""
    if not isinstance(value, str):
        value = str(value)
    text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL


def bare(address: str) -> str:
    return address.replace("\x00", "").strip().strip("<>").strip().lower()
