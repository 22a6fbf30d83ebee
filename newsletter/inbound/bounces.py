"""What an inbound message is, read from its structure alone (no database), and for a bounce, who
failed: the reader's address, our sending, or nobody can tell.

Reports first, in the order their structure proves them: an ARF feedback report (RFC 5965) is a
complaint; an Amazon SES notification says what it is in its JSON; a delivery status notification
(RFC 3464) lists each recipient with its Action, Status and Diagnostic-Code. Then the bounces MTAs
still send as plain text (qmail, Exim, old Sendmail, Exchange, Google Groups, DragonFly, Mail.ru,
Yahoo, ...), known by who sent them and how they begin. Only when no report is present do the
auto-reply headers (RFC 3834, Precedence, X-Autoreply) count: an Exim bounce says
`Auto-Submitted: auto-replied` and is still a bounce. Then a request to the unsubscribe address;
anything else is kept for staff.

Each failed recipient is judged by its status code and its diagnostic text (`judge`): a dead
address is the recipient's (suppress); an authentication, reputation, policy, content, size or
relaying refusal is the sender's (never suppress the reader: a sending problem); anything else is
unknown (counted, not suppressed at once). A 4.x.x, a full mailbox and an expired or dropped
connection are soft, whoever they name.
"""

import email.policy
import json
import re
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from django.conf import settings
from flufl.bounce import all_failures

HARD_BOUNCE = "hard_bounce"
SOFT_BOUNCE = "soft_bounce"
COMPLAINT = "complaint"
UNSUBSCRIBE = "unsubscribe"
AUTO_REPLY = "auto_reply"
OTHER = "other"
REJECTED = "rejected"

# Who failed, for a bounce.
RECIPIENT = "recipient"  # the address is dead: suppress the reader
SENDER = "sender"  # our sending was refused: never the reader's fault
UNKNOWN = "unknown"  # counted; not enough to suppress at once

# Where the envelope recipient shows in a delivered message (Postfix, Exim, Dovecot LDA, Gmail).
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
# How much of a plain-text bounce is read for its reason: the returned message follows it.
READ_CHARS = 8000


@dataclass
class Failure:
    """One recipient a report says was not delivered."""

    address: str
    kind: str  # HARD_BOUNCE or SOFT_BOUNCE
    who_failed: str
    status: str = ""  # the enhanced status code (RFC 3463), when the report gives one
    diagnostic: str = ""


@dataclass
class Classified:
    kind: str
    reason: str = ""
    recipient: str = ""  # the address the report says failed or complained (the first one)
    who_failed: str = ""  # for a bounce: RECIPIENT, SENDER or UNKNOWN
    failures: list[Failure] = field(default_factory=list)  # every failed recipient
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
    found = (
        _feedback_report(message)
        or _hotmail_complaint(message)
        or _ses_notification(message)
        or _delivery_status(message)
        or _plain_bounce(message)
    )
    if found is not None:
        found.to = to
        _add_original(message, found)
        return found
    if _is_auto_reply(message):
        # Before the unsubscribe address: an auto-reply sent there must not unsubscribe (a loop).
        return Classified(AUTO_REPLY, reason=_auto_reply_reason(message), to=to)
    if _to_unsubscribe_address(to):
        return Classified(
            UNSUBSCRIBE, reason="request to the unsubscribe address", to=to, sender=_sender(message)
        )
    return Classified(OTHER, reason="not a report: kept for staff", to=to)


# --- Who failed, and how hard -------------------------------------------------------------------

# What a bounce does to the reader: the one answer every path (pipe, IMAP, webhook) asks for.
SUPPRESS = "suppress"  # the address is dead
COUNT = "count"  # towards SOFT_BOUNCE_LIMIT, campaigns in a row
SENDING_PROBLEM = "sending_problem"  # the reader is left alone; staff see it on the campaign


def consequence(kind: str, who_failed: str) -> str:
    """A permanent failure suppresses only when it is the reader's address; the sender's own
    failures (authentication, reputation, policy, content, size, relaying) never do, whatever
    their count, since a broken sending setup would otherwise suppress every reader it reached.
    Unknown and transient failures count towards the soft limit."""
    if who_failed == SENDER:
        return SENDING_PROBLEM
    if kind == HARD_BOUNCE and who_failed == RECIPIENT:
        return SUPPRESS
    return COUNT


_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_REPLY = re.compile(r"(?<![\d.\-])([245])\d\d(?=[\s\-])")

# Read in the order `judge` gives: the first that matches the diagnostic decides.
_FULL_TEXT = re.compile(
    r"mail ?box (is |was )?full|mailbox_full|over ?quota"
    r"|quota (exceeded|full)|exceeded (the )?(storage|quota)"
    r"|insufficient (system )?storage|storage (space|allocation)|not enough (disk )?space|disk full"
    r"|mailbox size limit|user.{0,20}(has|is) (exceeded|over)"
    r"|size of the mailbox|mailbox (has )?exceeded"
    r"|full mailbox|too much mail|out of storage|mail ?box.{0,10}quota|mailfolder is full"
    r"|messages in recipient'?s mailbox|recipient'?s mailbox (is )?(full|exceeded)|disk quota"
    r"|mailbox.{0,20}full|mailbox exceeds|user'?s disk quota",
    re.IGNORECASE,
)
_TRANSIENT_TEXT = re.compile(
    r"retry (time|timeout)|time(d)? ?out|timeout|expired|too long in (the )?queue"
    r"|could not be delivered (with)?in|(was|been) delayed|delivery (has been )?delayed|is delayed"
    r"|giving up|gave up|undelivered for \d|for \d+ (days|hours)|no answer from|have been failing"
    r"|connection (refused|reset|lost|closed|dropped)|lost connection|network is unreachable"
    r"|no route to host|host is down|temporar|try (again )?later|retry later|deferred"
    r"|(?<!not going to )try again|not responding|not delivered within|aborted after"
    r"|failed \d+ attempts|warning only"
    r"|too many (connections|concurrent|messages|recipients|emails|hops)|(rate|connection) limit"
    r"|hop count|routing loop|mail loop|loops back"
    r"|warning message only|will (continue to )?(retry|try)"
    r"|still trying|attempts will continue|not accepting connections|currently unavailable"
    r"|resources? (temporarily )?unavailable|system (error|failure|resources)|local error"
    r"|service (is )?(not available|unavailable)|out of memory|filesystem full|i/o error"
    r"|did not accept our requests|unable to connect|could not connect",
    re.IGNORECASE,
)
_RECIPIENT_TEXT = re.compile(
    r"user ?unknown|unknown user|no such (user|mailbox|recipient|address|account|local user|person)"
    r"|(user|mailbox|recipient|address|account|addressee)( \S+)? (does not|doesn'?t|did not) exist"
    r"|(user|mailbox|recipient|account|address) (not found|unknown|invalid)"
    r"|invalid (recipient|mailbox|user|address)|unknown (recipient|mailbox|local[- ]part|address)"
    r"|unknown or illegal alias|not a valid (mailbox|user|recipient)"
    r"|recipient (address )?rejected: (user unknown|undeliverable|unknown|account|mailbox)"
    r"|unrouteable address|no mailbox|mailbox (is )?unavailable|mailbox not (found|available)"
    r"|(account|mailbox|user|address|recipient( address)?) (has been |is |was )?(disabled|suspended"
    r"|deactivated|inactive|closed|terminated|expired|locked|deleted|removed|discontinued|frozen)"
    r"|(disabled|suspended|deactivated|inactive|closed|expired"
    r"|dormant) (account|mailbox|user|recipient)"
    r"|no longer (active|available|valid|in use|exists|with)|not (our|a) customer"
    r"|has moved|moved to|bad destination mailbox|not listed in (the )?(domino|directory|address)"
    r"|host or domain name not found|domain (name )?not found|no such domain|unknown (host|domain)"
    r"|host unknown|domain (does not|doesn'?t) exist|unrouteable (mail )?domain"
    r"|nxdomain|no mx|null mx|does not accept (e-?)?mail|accepts no mail|not accept(ing)? mail"
    r"|indicated no smtp service|domain is not reachable|not reachable"
    r"|unknown address|invalid address|address not (found|valid)|no valid recipients"
    r"|user not (found|exist)|not a known user|user doesn'?t have|mailbox does not"
    r"|(account|address|mailbox|user)[^.]{0,40}(does not|doesn'?t) exist|not recognized"
    r"|invalid final delivery|unknown local|(?<!sender )address rejected(?!:)|bad destination"
    r"|account or domain may not exist|check if (the )?address is correct|temporary locked"
    r"|host \S+ not found|\S+ does not exist$",
    re.IGNORECASE,
)
# The sending side, beyond doubt: read before the transient words ("fix your SPF and try again").
_SENDER_STRONG = re.compile(
    r"\bspf\b|dkim|dmarc|unauthenticated|sender[- ]id|reputation|block ?list|black ?list"
    r"|\brbl\b|\bdnsbl\b|spamhaus|spamcop|relay (access )?denied|relaying denied"
    r"|not permitted to relay"
    r"|relay quota|too (large|big)|message size|size limit|reverse (dns|lookup)|\bptr\b|rdns"
    r"|sender address|domain of sender|sender domain|envelope sender|rate that prevents"
    r"|after mail from|provide a valid from|line limit|command parameter",
    re.IGNORECASE,
)
_SENDER_TEXT = re.compile(
    r"\bspf\b|dkim|dmarc|authenticat|unauthenticated|sender[- ]id"
    r"|reputation|block ?list|black ?list|\bblocked\b|\brbl\b|\bdnsbl\b|spamhaus|spamcop|barracuda"
    r"|listed (at|in|on|by)|banned|denied|refused|not (allowed|permitted|authori[sz]ed)"
    r"|policy|prohibited|spam|junk|bulk mail|content|virus|malware|infected|phishing|attachment"
    r"|too (large|big)|size (limit|exceed)|exceeds? (the )?(size|maximum|message size)"
    r"|message (size|length)|message is too|relay|reverse (dns|lookup)|\bptr\b|rdns|helo|ehlo"
    r"|sender (address )?(rejected|verify|domain|not)|from address|domain of sender|envelope sender"
    r"|rate (limit|exceeded)|sending (rate|limit)|throttl|syntax|rfc ?5322|rfc ?2822"
    r"|does not comply|not (rfc )?compliant|header|filter|rejected|access denied|security"
    r"|mismatch|invalid ip|protocol violation|improper|not a member|not member|permission",
    re.IGNORECASE,
)
# Enhanced status codes (RFC 3463) that say, by themselves, who failed.
_RECIPIENT_CODES = {"1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.10", "2.1", "4.4", "4.1"}
_SOFT_CODES = {"2.2", "3.1", "4.2", "4.5", "4.6", "4.7", "3.5"}
_SENDER_CODES = {"1.7", "1.8", "2.3", "3.4", "6.0", "6.1", "6.2", "6.3", "6.4", "6.5", "5.3"}


def judge(status: str, diagnostic: str, *, failed: bool = True) -> tuple[str, str]:
    """(kind, who failed) for one recipient, from its status code and diagnostic text.

    The words are read before the code: servers give a generic 5.0.0 or 5.7.1 to many reasons
    that their text makes plain. A full mailbox is soft whatever the code (the reader may empty
    it). Without a status code a reply code in the text decides hard or soft; with neither, a
    report that says the delivery failed is hard, but nobody is to blame (UNKNOWN), so one such
    report does not suppress."""
    status = status or _first_status(diagnostic)
    klass = status[:1] or _first_reply_class(diagnostic)
    detail = status.split(".", 1)[1] if status.count(".") == 2 else ""
    kind = SOFT_BOUNCE if klass == "4" or (not klass and not failed) else HARD_BOUNCE
    if _FULL_TEXT.search(diagnostic) or detail == "2.2":
        return SOFT_BOUNCE, RECIPIENT
    if _SENDER_STRONG.search(diagnostic):
        return kind, SENDER
    if _RECIPIENT_TEXT.search(diagnostic):
        return kind, RECIPIENT
    if detail.startswith("7.") and _SENDER_TEXT.search(diagnostic):
        return kind, SENDER
    if _TRANSIENT_TEXT.search(diagnostic) or detail in _SOFT_CODES:
        return SOFT_BOUNCE, UNKNOWN
    if _SENDER_TEXT.search(diagnostic):
        return kind, SENDER
    if detail in _RECIPIENT_CODES:
        return kind, RECIPIENT
    if detail in _SENDER_CODES or detail.startswith("7."):
        return kind, SENDER
    return kind, UNKNOWN


def _first_status(text: str) -> str:
    """The most telling enhanced status code in a text: a specific one beats x.0.0."""
    codes = [".".join(found.groups()) for found in _STATUS.finditer(text)]
    specific = [code for code in codes if not code.endswith(".0.0")]
    return (specific or codes or [""])[0]


def _first_reply_class(text: str) -> str:
    found = _REPLY.search(text)
    return found.group(1) if found else ""


# --- Feedback reports -------------------------------------------------------------------------


def _feedback_report(message: Message) -> Classified | None:
    feedback = _part(message, "message/feedback-report")
    if feedback is None:
        return None
    fields = _fields(feedback)
    original = _original(message)
    recipient = _bare(fields.get("original-rcpt-to", ""))
    if not recipient and original is not None:
        recipient = _bare(parseaddr(header(original, "To"))[1])
    return Classified(
        COMPLAINT,
        reason=f"feedback report: {fields.get('feedback-type', 'abuse')}",
        recipient=recipient,
    )


def _hotmail_complaint(message: Message) -> Classified | None:
    """Outlook.com's older feedback loop: the complained-of message, with no ARF part."""
    original = _original(message)
    if original is None or not header(original, "X-HmXmrOriginalRecipient"):
        return None
    return Classified(
        COMPLAINT,
        reason="feedback loop: complaint (Outlook.com)",
        recipient=_bare(header(original, "X-HmXmrOriginalRecipient")),
    )


# --- Amazon SES notifications sent by mail ----------------------------------------------------


def _ses_notification(message: Message) -> Classified | None:
    body = _body_text(message).strip()
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
        addresses = [_bare(str(p.get("emailAddress", ""))) for p in people if isinstance(p, dict)]
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
            diagnostic = _oneline(str(person.get("diagnosticCode") or ""))
            kind_, who = judge(status, diagnostic)
            if transient:
                kind_ = SOFT_BOUNCE
            failures.append(
                Failure(_bare(str(person.get("emailAddress", ""))), kind_, who, status, diagnostic)
            )
        if not failures:
            failures = [Failure("", SOFT_BOUNCE if transient else HARD_BOUNCE, UNKNOWN)]
        return _bounce("Amazon SES bounce", failures)
    # "Delivery" (and anything else): good news or not ours to act on, never a bounce.
    return Classified(OTHER, reason=f"Amazon SES notification: {kind[:40]} (not a bounce)")


def _json(text: str):
    try:
        return json.JSONDecoder().raw_decode(text[text.find("{") :])[0]
    except (ValueError, TypeError):
        return None


# --- Delivery status notifications (RFC 3464) -------------------------------------------------

_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status", "text/delivery-status")


def _delivery_status(message: Message) -> Classified | None:
    status = next((p for t in _DSN_TYPES if (p := _part(message, t)) is not None), None)
    if status is None:
        return None
    return _from_blocks(_blocks(status), _human_text(message), "DSN")


def _from_blocks(blocks: list[dict], human: str, source: str) -> Classified | None:
    """A result from a report's per-recipient blocks (Action, Status, Diagnostic-Code)."""
    blocks = [b for b in blocks if "action" in b or "status" in b]
    said = dict(_segments(human, [_dsn_recipient(b) for b in blocks]))
    failures, delivered = [], 0
    for block in blocks:
        action = block.get("action", "").strip().lower()
        code = _STATUS.search(block.get("status", ""))
        code = code.group(0) if code else ""
        if action in ("delivered", "relayed", "expanded", "deliverable") or code[:1] == "2":
            delivered += 1
            continue
        address = _dsn_recipient(block)
        diagnostic = _oneline(block.get("diagnostic-code", "").split(";", 1)[-1])
        if not diagnostic:
            # No Diagnostic-Code: what the MTA wrote for people about this address.
            diagnostic = said.get(address) or human
        if code.endswith(".0.0") or not code:
            code = _first_status(diagnostic) or code
        kind, who = judge(code, diagnostic, failed=action != "delayed")
        if action == "delayed":
            kind = SOFT_BOUNCE
        failures.append(Failure(address, kind, who, code, diagnostic[:1000]))
    if failures:
        return _bounce(source, failures)
    if delivered:
        return Classified(OTHER, reason="delivery notice: delivered (not a bounce)")
    return None


def _dsn_recipient(block: dict) -> str:
    """The address as we sent it: Original-Recipient when it is an email address (a forwarder's
    Final-Recipient names the mailbox it forwarded to), else Final-Recipient."""
    for name in ("original-recipient", "final-recipient"):
        kind, _, address = block.get(name, "").rpartition(";")
        if "@" in address and kind.strip().lower() in ("rfc822", ""):
            return _bare(address)
    return _bare(block.get("final-recipient", "").rpartition(";")[2])


def _human_text(message: Message) -> str:
    """The first text part of a report: what the MTA wrote for people."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return _oneline(_decoded(part)[:READ_CHARS])
    return ""


# --- Bounces in plain text ----------------------------------------------------------------------

_DAEMON = re.compile(
    r"mailer[-_]?daemon|post_?master|mail[-_ ]?delivery|mail ?administrator|mdaemon|mail[-_]?system"
    r"|antivirus|mailer@|no-?reply",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (status notification|failure"
    r"|failed|report|problem|notification)"
    r"|returned mail|failure notice|mail delivery failed|non[- ]?deliver|could not be delivered"
    r"|not delivered|delivery has failed|mail failure|message (delivery )?fail|warning: could not"
    r"|return(ed|ing) to sender|delivery error|bounce|mail system error|rejected|nicht zustellbar"
    r"|unzustellbar|non remis|no entregado|error sending|delivery_failure|mail failed|failed mail"
    r"|delivery warning|mail error|メールエラー|エラーメール|不達|配信でき|未達|processing error"
    r"|failure|unable to deliver|mail could not|not be delivered|delivery notification",
    re.IGNORECASE,
)
_BOUNCE_BODY = re.compile(
    r"this is the (qmail-send|mail system|mail delivery|dragonfly)|mail delivery (software|system)"
    r"|could not be delivered|couldn'?t be delivered|was not delivered|were not delivered"
    r"|not be delivered|undeliverable|delivery (has )?failed|unable to deliver|failed permanently"
    r"|permanent (fatal )?error|delivery to the following|following (address|recipient)"
    r"|i'?m (sorry|afraid)|transcript of session|error delivering|message could not|wasn'?t able to"
    r"|returned to you|delivery problem|could not reach"
    r"|smtp error|remote server|rejected your message"
    r"|requested action not taken|invalid user address|delivery failure|has been returned"
    r"|did not reach|failed addresses|delivery attempts"
    r"|returned because|\b[45]\d\d[ -][45]\.\d{1,3}\.\d",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>?")
# Where a plain-text bounce starts quoting the returned message.
_RETURNED = re.compile(
    r"^.*(original message|returned message|unsent message|message headers follow|copy of the"
    r"|included below|message follows|undelivered message|----- ?original|headers of your"
    r"|your message reads|following is a copy).*$",
    re.IGNORECASE | re.MULTILINE,
)


def _plain_bounce(message: Message) -> Classified | None:
    text = _report_text(message)
    permanent, temporary = _flufl(message)
    if not _looks_like_bounce(message, text, found=bool(permanent or temporary)):
        return None
    inline = _from_blocks(_inline_blocks(message), _oneline(text), "inline DSN")
    if inline is not None:
        return inline
    addresses = list(dict.fromkeys([*permanent, *temporary]))
    failed = header(message, "X-Failed-Recipients")
    for _, address in getaddresses([failed]) if failed else []:
        if _bare(address) not in addresses:
            addresses.append(_bare(address))
    ours = _ours(message)
    for address in _LISTED.findall(text):
        # An address alone at the start of a line, before its error (qmail, OpenSMTPD, Sendmail).
        address = _bare(address)
        if address not in addresses and address not in ours and not _DAEMON.search(address):
            addresses.append(address)
    if not addresses:
        addresses = _addresses_in(text, message)
    whole = _oneline(text)
    failures = []
    for address, said in _segments(whole, addresses):
        kind, who = judge("", said)
        if _first_status(said) == "" and _first_reply_class(said) == "":
            kind, who = judge("", whole)  # the words near the address say too little
            said = said or whole[:1000]
        if address in temporary and address not in permanent and not _first_status(said):
            kind = SOFT_BOUNCE
        failures.append(Failure(address, kind, who, _first_status(said), said[:1000]))
    if not failures:
        kind, who = judge("", whole)
        failures = [Failure("", kind, who, _first_status(whole), whole[:1000])]
    return _bounce("non-standard bounce", failures)


_INLINE_FIELD = re.compile(r"^(Final-Recipient|Original-Recipient|Action|Status):", re.I | re.M)


def _inline_blocks(message: Message) -> list[dict]:
    """DSN fields written into a text part (a report whose MIME structure was lost)."""
    blocks = []
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            break
        if part.is_multipart() or part.get_content_maintype() not in ("text", "multipart"):
            continue
        text = _decoded(part)[:200_000]
        if len(_INLINE_FIELD.findall(text)) < 2:
            continue
        for paragraph in re.split(r"\r?\n\s*\r?\n", text):
            if re.search(r"^(Final|Original)-Recipient:", paragraph, re.I | re.M):
                fields = parse(paragraph.strip().encode("utf-8", "replace"))
                blocks.append({key.lower(): _text(value) for key, value in fields.items()})
    return blocks


def _segments(text: str, addresses: list[str]) -> list[tuple[str, str]]:
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


def _looks_like_bounce(message: Message, text: str, *, found: bool) -> bool:
    if header(message, "X-Failed-Recipients"):
        return True
    sender = _decoded_header(message, "From")
    return_path = header(message, "Return-Path").strip()
    signals = [
        bool(_DAEMON.search(sender)) or return_path in ("<>", "<MAILER-DAEMON>"),
        bool(_BOUNCE_SUBJECT.search(_decoded_header(message, "Subject"))),
        bool(_BOUNCE_BODY.search(text)),
        found,  # flufl.bounce's detectors found a failed address
    ]
    return sum(signals) >= 2


def _decoded_header(message: Message, name: str) -> str:
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


def _report_text(message: Message) -> str:
    """The MTA's own words: the text before the returned message begins."""
    texts = []
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            break
        # A multipart whose boundary was lost (a bad fold) holds its text as a string.
        if part.get_content_maintype() in ("text", "multipart") and not part.is_multipart():
            texts.append(_decoded(part))
        if sum(len(t) for t in texts) > READ_CHARS:
            break
    text = "\n".join(texts)[:READ_CHARS]
    cut = _RETURNED.search(text)
    if cut and cut.start() > 40:
        text = text[: cut.start()]
    return text


def _flufl(message: Message) -> tuple[list[str], list[str]]:
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # noqa: BLE001 — a detector tripping on a broken message names no one
        return [], []

    def bare(found):
        return sorted(_bare(a.decode("ascii", "replace")) for a in found if a)

    return bare(permanent), bare(temporary)


_LISTED = re.compile(r"^[ \t]*" + _ADDRESS.pattern + r"[ \t]*(?::|\.\.\.)", re.MULTILINE)


def _ours(message: Message) -> set[str]:
    """The report's own From, To and Sender: never the failed address."""
    return {_bare(parseaddr(header(message, name))[1]) for name in ("From", "To", "Sender")}


def _addresses_in(text: str, message: Message) -> list[str]:
    ours = _ours(message)
    found = []
    for match in _ADDRESS.finditer(text):
        address = _bare(match.group(1))
        if address not in ours and address not in found and not _DAEMON.search(address):
            found.append(address)
    return found[:1]


# --- Shared ------------------------------------------------------------------------------------


def _bounce(source: str, failures: list[Failure]) -> Classified:
    """One result for the report: the worst of its recipients (hard beats soft; the recipient's
    fault beats unknown beats the sender's, so one dead address in a report still counts)."""
    order = {RECIPIENT: 0, UNKNOWN: 1, SENDER: 2}
    worst = min(failures, key=lambda f: (f.kind != HARD_BOUNCE, order[f.who_failed]))
    state = "failed" if worst.kind == HARD_BOUNCE else "temporary failure"
    side = {RECIPIENT: "the address", SENDER: "our sending", UNKNOWN: "cause unknown"}
    reason = f"{source} {state} {worst.status} [{side[worst.who_failed]}] {worst.diagnostic}"
    return Classified(
        worst.kind,
        reason=" ".join(reason.split())[:1000],
        recipient=worst.address,
        who_failed=worst.who_failed,
        failures=failures,
    )


def _add_original(message: Message, found: Classified) -> None:
    original = _original(message)
    if original is not None:
        found.original_message_id = _bare(header(original, "Message-ID"))
        if found.kind == COMPLAINT:  # a feedback loop rewrites the envelope; a DSN has its own
            found.original_return_path = _bare(header(original, "Return-Path"))
        found.original_list_id = header(original, "List-Id")
    elif found.kind in (HARD_BOUNCE, SOFT_BOUNCE):
        found.original_message_id = _quoted_message_id(message)


_QUOTED_MESSAGE_ID = re.compile(r"^Message-ID:\s*<([^>\s]+)>", re.IGNORECASE | re.MULTILINE)


def _quoted_message_id(message: Message) -> str:
    """A returned message quoted as text (qmail, old Exim, Yahoo): its Message-ID line."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            found = _QUOTED_MESSAGE_ID.search(_decoded(part))
            if found:
                return found.group(1).lower()
    return ""


_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|"
    r"abwesenheitsnotiz|absence|r[ée]ponse automatique|away from)",
    re.IGNORECASE,
)


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
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
        if kind in ("text/rfc822-headers", "message/global-headers"):
            return parse(part.get_payload(decode=True) or b"")
    return None


def _blocks(status: Message) -> list[dict]:
    """The per-message and per-recipient field blocks of a message/delivery-status part."""
    payload = status.get_payload()
    if isinstance(payload, list):
        return [_fields(block) for block in payload]
    # Not split into blocks by the parser (a non-multipart shape): split by blank lines.
    text = _decoded(status) if isinstance(payload, str) else ""
    blocks = re.split(r"\r?\n\s*\r?\n", text)
    return [_fields(parse(block.strip().encode("utf-8", "replace"))) for block in blocks]


def _fields(block: Message) -> dict:
    if isinstance(block.get_payload(), list):  # a feedback part parsed as a one-block container
        inner = block.get_payload()
        block = inner[0] if inner else block
    fields = {key.lower(): _text(value) for key, value in block.items()}
    if not fields:
        # A message/feedback-report body is parsed as text: its fields are the body's lines.
        fields = {key.lower(): _text(value) for key, value in parse(_raw(block)).items()}
    return fields


def _body_text(message: Message) -> str:
    for part in message.walk():
        if not part.is_multipart() and part.get_content_maintype() in ("text", "application"):
            return _decoded(part)[:200_000]
    return ""


def _decoded(part: Message) -> str:
    """A part's text, whatever its transfer encoding and charset said (or lied)."""
    data = _raw(part)
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, "replace").replace("\x00", "")
    except LookupError:
        return data.decode("utf-8", "replace").replace("\x00", "")


def _raw(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _oneline(text: str) -> str:
    return " ".join(text.split())


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
