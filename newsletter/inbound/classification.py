"""What an inbound message is (an InboundMessage.Kind), read from its structure alone (no
database).

Standard reports first: an ARF feedback report (RFC 5965) is a complaint; a delivery status
notification (RFC 3464) is a hard bounce when a recipient failed permanently (5.x.x) and a soft
one when it failed temporarily (4.x.x) or is delayed. Then auto-replies (RFC 3834), which must not
count as anything. Then a request to the unsubscribe address. Then bounces in the non-standard
shapes some MTAs still send, through flufl.bounce (GNU Mailman's detectors). Anything else is kept
for staff.
"""

import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from django.conf import settings
from flufl.bounce import all_failures

from newsletter.models import InboundMessage

Kind = InboundMessage.Kind

# Where the envelope recipient shows in a delivered message (Postfix, Exim, Dovecot LDA, Gmail).
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|"
    r"abwesenheitsnotiz|absence|r[ée]ponse automatique|away from)",
    re.IGNORECASE,
)
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
# A returned message quoted as text (old Exim, Yahoo): its Message-ID line in the body.
_QUOTED_MESSAGE_ID = re.compile(r"^Message-ID:\s*<([^>\s]+)>", re.IGNORECASE | re.MULTILINE)


@dataclass
class Classified:
    kind: str
    reason: str = ""
    recipient: str = ""  # the address the report says failed or complained
    original_message_id: str = ""
    original_return_path: str = ""  # where a VERP token survives in a complaint
    original_list_id: str = ""
    to: list[str] = field(default_factory=list)  # where this message was delivered
    sender: str = ""  # From: of an unsubscribe request


def parse(raw: bytes) -> Message:
    # compat32 keeps every header as the bytes said, without raising on broken ones.
    return BytesParser(policy=email.policy.compat32).parsebytes(raw)


def classify(message: Message, *, envelope_to: str = "") -> Classified:
    to = _recipients(message, envelope_to)
    feedback = _part(message, "message/feedback-report")
    if feedback is not None:
        return _complaint(message, feedback, to)
    status = _part(message, "message/delivery-status")
    if status is not None:
        found = _dsn(message, status, to)
        if found is not None:
            return found
    if _is_auto_reply(message):
        return Classified(Kind.AUTO_REPLY, reason=_auto_reply_reason(message), to=to)
    if _to_unsubscribe_address(to):
        return Classified(
            Kind.UNSUBSCRIBE,
            reason="request to the unsubscribe address",
            to=to,
            sender=_sender(message),
        )
    bounced = _heuristic_bounce(message, to)
    if bounced is not None:
        return bounced
    return Classified(Kind.OTHER, reason="not a report: kept for staff", to=to)


def _complaint(message: Message, feedback: Message, to: list[str]) -> Classified:
    fields = _fields(feedback)
    original = _original(message)
    kind = fields.get("feedback-type", "abuse")
    result = Classified(
        Kind.COMPLAINT,
        reason=f"feedback report: {kind}",
        recipient=_bare(fields.get("original-rcpt-to", "")),
        to=to,
    )
    if original is not None:
        result.original_message_id = _bare(header(original, "Message-ID"))
        result.original_return_path = _bare(header(original, "Return-Path"))
        result.original_list_id = header(original, "List-Id")
        if not result.recipient:
            result.recipient = _bare(header(original, "To"))
    return result


def _dsn(message: Message, status: Message, to: list[str]) -> Classified | None:
    """One result for the report: the worst of its recipients (failed beats delayed)."""
    recipients = [block for block in _blocks(status) if "action" in block or "status" in block]
    worst = None
    for block in recipients:
        action = block.get("action", "").strip().lower()
        code = _STATUS.search(block.get("status", ""))
        code = code.group(0) if code else ""
        if action == "failed" and code.startswith("5"):
            rank, kind = 2, Kind.HARD_BOUNCE
        elif action in ("failed", "delayed") or code.startswith("4"):
            rank, kind = 1, Kind.SOFT_BOUNCE
        else:
            continue  # delivered, relayed, expanded: good news
        if worst is None or rank > worst[0]:
            worst = (rank, kind, block, code, action)
    if worst is None:
        return None
    _, kind, block, code, action = worst
    recipient = block.get("final-recipient") or block.get("original-recipient") or ""
    diagnostic = " ".join(block.get("diagnostic-code", "").split())
    original = _original(message)
    result = Classified(
        kind,
        reason=f"DSN {action} {code} {diagnostic}".strip()[:1000],
        recipient=_bare(recipient.split(";", 1)[-1]),
        to=to,
    )
    if original is not None:
        result.original_message_id = _bare(header(original, "Message-ID"))
        result.original_list_id = header(original, "List-Id")
    return result


def _heuristic_bounce(message: Message, to: list[str]) -> Classified | None:
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # noqa: BLE001 — a detector tripping on a broken message is no bounce
        return None
    addresses = permanent or temporary
    if not addresses:
        return None
    recipient = sorted(addresses)[0].decode("ascii", "replace")
    kind = Kind.HARD_BOUNCE if permanent else Kind.SOFT_BOUNCE
    original = _original(message)
    result = Classified(
        kind,
        reason=f"non-standard bounce ({'permanent' if permanent else 'temporary'} failure)",
        recipient=_bare(recipient),
        to=to,
    )
    if original is not None:
        result.original_message_id = _bare(header(original, "Message-ID"))
        result.original_list_id = header(original, "List-Id")
    else:
        result.original_message_id = _quoted_message_id(message)
    return result


def _quoted_message_id(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() != "text/plain":
            continue
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        found = _QUOTED_MESSAGE_ID.search(text)
        if found:
            return found.group(1).lower()
    return ""


def _is_auto_reply(message: Message) -> bool:
    auto = header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if header(message, "Precedence").lower() in ("auto_reply", "bulk", "junk"):
        return True
    if header(message, "X-Autoreply") or header(message, "X-Autorespond"):
        return True
    return bool(_AUTO_SUBJECT.match(header(message, "Subject")))


def _auto_reply_reason(message: Message) -> str:
    for name in ("Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "Subject"):
        value = header(message, name)
        if value:
            return f"auto-reply ({name}: {value[:100]})"
    return "auto-reply"


def _to_unsubscribe_address(to: list[str]) -> bool:
    local, _, domain = settings.UNSUBSCRIBE_MAILTO.lower().rpartition("@")
    for address in to:
        got_local, _, got_domain = address.rpartition("@")
        if got_domain == domain and (got_local == local or got_local.startswith(local + "+")):
            return True
    return False


def _recipients(message: Message, envelope_to: str) -> list[str]:
    found = [envelope_to] if envelope_to else []
    for name in RECIPIENT_HEADERS:
        values = [_text(value) for value in message.get_all(name) or []]
        found.extend(address for _, address in getaddresses(values))
    return [_bare(address) for address in found if address]


def _sender(message: Message) -> str:
    return _bare(parseaddr(header(message, "From"))[1])


def _part(message: Message, content_type: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _original(message: Message) -> Message | None:
    """The returned message (or its headers) inside a report."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            return parse(payload)
    return None


def _blocks(status: Message) -> list[dict]:
    """The per-message and per-recipient field blocks of a message/delivery-status part."""
    payload = status.get_payload()
    if isinstance(payload, list):
        return [_fields(block) for block in payload]
    # Not split into blocks by the parser (a non-multipart shape): split by blank lines.
    text = payload if isinstance(payload, str) else ""
    blocks = re.split(r"\r?\n\s*\r?\n", text)
    return [_fields(parse(block.strip().encode("utf-8", "replace"))) for block in blocks]


def _fields(block: Message) -> dict:
    if isinstance(block.get_payload(), list):  # a feedback part parsed as a one-block container
        inner = block.get_payload()
        block = inner[0] if inner else block
    fields = {key.lower(): _text(value) for key, value in block.items()}
    if not fields:
        # A message/feedback-report body is parsed as text: its fields are the body's lines.
        body = block.get_payload(decode=True) or b""
        fields = {key.lower(): _text(value) for key, value in parse(body).items()}
    return fields


def header(message: Message, name: str) -> str:
    value = message.get(name)
    return _text(value) if value is not None else ""


def _text(value) -> str:
    """A header as text, whatever bytes it held (non-UTF-8 headers come through as surrogates)."""
    if not isinstance(value, str):
        value = str(value)
    text = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL


def _bare(address: str) -> str:
    return address.replace("\x00", "").strip().strip("<>").strip().lower()
