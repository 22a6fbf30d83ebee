"""Reports whose structure says what they are: ARF feedback reports (RFC 5965), Outlook.com's
older feedback loop, Amazon SES notifications sent by mail, delivery status notifications
(RFC 3464) per recipient, and DSN fields written into a text part."""

import json
import re
from email.message import Message
from email.utils import parseaddr

from newsletter.inbound.bounces.mime import (
    READ_CHARS,
    bare,
    body_text,
    decoded_text,
    field_blocks,
    fields_of,
    find_part,
    header,
    header_text,
    oneline,
    parse,
    returned_message,
)
from newsletter.inbound.bounces.verdict import (
    COMPLAINT,
    HARD_BOUNCE,
    OTHER,
    SOFT_BOUNCE,
    STATUS,
    UNKNOWN,
    Classified,
    Failure,
    first_status,
    judge,
    verdict,
)

# --- Feedback reports -------------------------------------------------------------------------


def feedback_report(message: Message) -> Classified | None:
    feedback = find_part(message, "message/feedback-report")
    if feedback is None:
        return None
    fields = fields_of(feedback)
    original = returned_message(message)
    recipient = bare(fields.get("original-rcpt-to", ""))
    if not recipient and original is not None:
        recipient = bare(parseaddr(header(original, "To"))[1])
    return Classified(
        COMPLAINT,
        reason=f"feedback report: {fields.get('feedback-type', 'abuse')}",
        recipient=recipient,
    )


def hotmail_complaint(message: Message) -> Classified | None:
    """Outlook.com's older feedback loop: the complained-of message, with no ARF part."""
    original = returned_message(message)
    if original is None or not header(original, "X-HmXmrOriginalRecipient"):
        return None
    return Classified(
        COMPLAINT,
        reason="feedback loop: complaint (Outlook.com)",
        recipient=bare(header(original, "X-HmXmrOriginalRecipient")),
    )


# --- Amazon SES notifications sent by mail ----------------------------------------------------


def ses_notification(message: Message) -> Classified | None:
    body = body_text(message).strip()
    if '"notificationType"' not in body and '\\"notificationType\\"' not in body:
        return None
    data = _json(body) or _json(re.sub(r"\r?\n ", "", body))  # some copies are line-folded
    if isinstance(data, dict) and isinstance(data.get("Message"), str):
        data = _json(data["Message"])  # wrapped in an SNS notification
    if not isinstance(data, dict):
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "")
    if kind == "Complaint":
        people = (data.get("complaint") or {}).get("complainedRecipients") or []
        addresses = [bare(str(p.get("emailAddress", ""))) for p in people if isinstance(p, dict)]
        return Classified(
            COMPLAINT, reason="Amazon SES complaint", recipient=next(iter(addresses), "")
        )
    if kind == "Bounce":
        bounce = data.get("bounce") or {}
        transient = bounce.get("bounceType") != "Permanent"
        failures = []
        for person in bounce.get("bouncedRecipients") or []:
            if not isinstance(person, dict):
                continue
            status = str(person.get("status") or "")
            diagnostic = oneline(str(person.get("diagnosticCode") or ""))
            kind_, who = judge(status, diagnostic)
            if transient:
                kind_ = SOFT_BOUNCE
            failures.append(
                Failure(bare(str(person.get("emailAddress", ""))), kind_, who, status, diagnostic)
            )
        if not failures:
            failures = [Failure("", SOFT_BOUNCE if transient else HARD_BOUNCE, UNKNOWN)]
        return verdict("Amazon SES bounce", failures)
    # "Delivery" (and anything else): good news or not ours to act on, never a bounce.
    return Classified(OTHER, reason=f"Amazon SES notification: {kind[:40]} (not a bounce)")


def _json(text: str):
    try:
        return json.JSONDecoder().raw_decode(text[text.find("{") :])[0]
    except (ValueError, TypeError):
        return None


# --- Delivery status notifications (RFC 3464) -------------------------------------------------

_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status", "text/delivery-status")


def delivery_status(message: Message) -> Classified | None:
    status = next((p for t in _DSN_TYPES if (p := find_part(message, t)) is not None), None)
    if status is None:
        return None
    return from_blocks(field_blocks(status), _human_text(message), "DSN")


def from_blocks(blocks: list[dict], human: str, source: str) -> Classified | None:
    """A result from a report's per-recipient blocks (Action, Status, Diagnostic-Code)."""
    blocks = [b for b in blocks if "action" in b or "status" in b]
    said = dict(segments(human, [_dsn_recipient(b) for b in blocks]))
    failures, delivered = [], 0
    for block in blocks:
        action = block.get("action", "").strip().lower()
        code = STATUS.search(block.get("status", ""))
        code = code.group(0) if code else ""
        if action in ("delivered", "relayed", "expanded", "deliverable") or code[:1] == "2":
            delivered += 1
            continue
        address = _dsn_recipient(block)
        diagnostic = oneline(block.get("diagnostic-code", "").split(";", 1)[-1])
        if not diagnostic:
            # No Diagnostic-Code: what the MTA wrote for people about this address.
            diagnostic = said.get(address) or human
        if code.endswith(".0.0") or not code:
            code = first_status(diagnostic) or code
        kind, who = judge(code, diagnostic, failed=action != "delayed")
        if action == "delayed":
            kind = SOFT_BOUNCE
        failures.append(Failure(address, kind, who, code, diagnostic[:1000]))
    if failures:
        return verdict(source, failures)
    if delivered:
        return Classified(OTHER, reason="delivery notice: delivered (not a bounce)")
    return None


def _dsn_recipient(block: dict) -> str:
    """The address as we sent it: Original-Recipient when it is an email address (a forwarder's
    Final-Recipient names the mailbox it forwarded to), else Final-Recipient."""
    for name in ("original-recipient", "final-recipient"):
        kind, _, address = block.get(name, "").rpartition(";")
        if "@" in address and kind.strip().lower() in ("rfc822", ""):
            return bare(address)
    return bare(block.get("final-recipient", "").rpartition(";")[2])


def _human_text(message: Message) -> str:
    """The first text part of a report: what the MTA wrote for people."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return oneline(decoded_text(part)[:READ_CHARS])
    return ""


_INLINE_FIELD = re.compile(r"^(Final-Recipient|Original-Recipient|Action|Status):", re.I | re.M)


def inline_blocks(message: Message) -> list[dict]:
    """DSN fields written into a text part (a report whose MIME structure was lost)."""
    blocks = []
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            break
        if part.is_multipart() or part.get_content_maintype() not in ("text", "multipart"):
            continue
        text = decoded_text(part)[:200_000]
        if len(_INLINE_FIELD.findall(text)) < 2:
            continue
        for paragraph in re.split(r"\r?\n\s*\r?\n", text):
            if re.search(r"^(Final|Original)-Recipient:", paragraph, re.I | re.M):
                fields = parse(paragraph.strip().encode("utf-8", "replace"))
                blocks.append({key.lower(): header_text(value) for key, value in fields.items()})
    return blocks


def segments(text: str, addresses: list[str]) -> list[tuple[str, str]]:
    """Each address with the words that follow it, up to where another address is named (qmail,
    Exim and Sendmail write each failed address above its error)."""
    lower = text.lower()
    named = sorted(
        (match.start(), address)
        for address in addresses
        if address
        for match in re.finditer(re.escape(address), lower)
    )
    found = []
    for address in addresses:
        at = lower.find(address) if address else -1
        if at < 0:
            found.append((address, ""))
            continue
        end = next((where for where, other in named if where > at and other != address), len(text))
        found.append((address, text[at : min(max(end, at + 200), at + 1000)]))
    return found
