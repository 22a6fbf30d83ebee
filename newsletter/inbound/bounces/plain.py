"""Bounces MTAs still send as plain text (qmail, Exim, old Sendmail, Exchange, Google Groups,
DragonFly, Mail.ru, Yahoo, ...): known by who sent them, their subject and how they begin; the
failed addresses found by flufl.bounce (GNU Mailman's detectors) and by the lines that list them.
Also what is no report: auto-replies, and requests to the unsubscribe address."""

import re
from email.message import Message
from email.utils import getaddresses, parseaddr

from django.conf import settings
from flufl.bounce import all_failures

from newsletter.inbound.bounces.mime import (
    READ_CHARS,
    bare,
    decoded_header,
    decoded_text,
    header,
    oneline,
    returned_message,
)
from newsletter.inbound.bounces.reports import from_blocks, inline_blocks, segments
from newsletter.inbound.bounces.verdict import (
    COMPLAINT,
    HARD_BOUNCE,
    SOFT_BOUNCE,
    Classified,
    Failure,
    first_reply_class,
    first_status,
    judge,
    verdict,
)

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


def plain_bounce(message: Message) -> Classified | None:
    text = _report_text(message)
    permanent, temporary = _flufl(message)
    if not _looks_like_bounce(message, text, found=bool(permanent or temporary)):
        return None
    inline = from_blocks(inline_blocks(message), oneline(text), "inline DSN")
    if inline is not None:
        return inline
    addresses = list(dict.fromkeys([*permanent, *temporary]))
    failed = header(message, "X-Failed-Recipients")
    for _, address in getaddresses([failed]) if failed else []:
        if bare(address) not in addresses:
            addresses.append(bare(address))
    ours = _ours(message)
    for address in _LISTED.findall(text):
        # An address alone at the start of a line, before its error (qmail, OpenSMTPD, Sendmail).
        address = bare(address)
        if address not in addresses and address not in ours and not _DAEMON.search(address):
            addresses.append(address)
    if not addresses:
        addresses = _addresses_in(text, message)
    whole = oneline(text)
    failures = []
    for address, said in segments(whole, addresses):
        kind, who = judge("", said)
        if first_status(said) == "" and first_reply_class(said) == "":
            kind, who = judge("", whole)  # the words near the address say too little
            said = said or whole[:1000]
        if address in temporary and address not in permanent and not first_status(said):
            kind = SOFT_BOUNCE
        failures.append(Failure(address, kind, who, first_status(said), said[:1000]))
    if not failures:
        kind, who = judge("", whole)
        failures = [Failure("", kind, who, first_status(whole), whole[:1000])]
    return verdict("non-standard bounce", failures)


def _looks_like_bounce(message: Message, text: str, *, found: bool) -> bool:
    if header(message, "X-Failed-Recipients"):
        return True
    sender = decoded_header(message, "From")
    return_path = header(message, "Return-Path").strip()
    signals = [
        bool(_DAEMON.search(sender)) or return_path in ("<>", "<MAILER-DAEMON>"),
        bool(_BOUNCE_SUBJECT.search(decoded_header(message, "Subject"))),
        bool(_BOUNCE_BODY.search(text)),
        found,  # flufl.bounce's detectors found a failed address
    ]
    return sum(signals) >= 2


def _report_text(message: Message) -> str:
    """The MTA's own words: the text before the returned message begins."""
    texts = []
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            break
        # A multipart whose boundary was lost (a bad fold) holds its text as a string.
        if part.get_content_maintype() in ("text", "multipart") and not part.is_multipart():
            texts.append(decoded_text(part))
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

    def addresses(found):
        return sorted(bare(a.decode("ascii", "replace")) for a in found if a)

    return addresses(permanent), addresses(temporary)


_LISTED = re.compile(r"^[ \t]*" + _ADDRESS.pattern + r"[ \t]*(?::|\.\.\.)", re.MULTILINE)


def _ours(message: Message) -> set[str]:
    """The report's own From, To and Sender: never the failed address."""
    return {bare(parseaddr(header(message, name))[1]) for name in ("From", "To", "Sender")}


def _addresses_in(text: str, message: Message) -> list[str]:
    ours = _ours(message)
    found = []
    for match in _ADDRESS.finditer(text):
        address = bare(match.group(1))
        if address not in ours and address not in found and not _DAEMON.search(address):
            found.append(address)
    return found[:1]


def add_original(message: Message, found: Classified) -> None:
    original = returned_message(message)
    if original is not None:
        found.original_message_id = bare(header(original, "Message-ID"))
        if found.kind == COMPLAINT:  # a feedback loop rewrites the envelope; a DSN has its own
            found.original_return_path = bare(header(original, "Return-Path"))
        found.original_list_id = header(original, "List-Id")
    elif found.kind in (HARD_BOUNCE, SOFT_BOUNCE):
        found.original_message_id = _quoted_message_id(message)


_QUOTED_MESSAGE_ID = re.compile(r"^Message-ID:\s*<([^>\s]+)>", re.IGNORECASE | re.MULTILINE)


def _quoted_message_id(message: Message) -> str:
    """A returned message quoted as text (qmail, old Exim, Yahoo): its Message-ID line."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            found = _QUOTED_MESSAGE_ID.search(decoded_text(part))
            if found:
                return found.group(1).lower()
    return ""


_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|"
    r"abwesenheitsnotiz|absence|r[ée]ponse automatique|away from)",
    re.IGNORECASE,
)


def is_auto_reply(message: Message) -> bool:
    auto = header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if header(message, "Precedence").lower() in ("auto_reply", "bulk", "junk"):
        return True
    if header(message, "X-Autoreply") or header(message, "X-Autorespond"):
        return True
    return bool(_AUTO_SUBJECT.match(header(message, "Subject")))


def auto_reply_reason(message: Message) -> str:
    for name in ("Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "Subject"):
        value = header(message, name)
        if value:
            return f"auto-reply ({name}: {value[:100]})"
    return "auto-reply"


def to_unsubscribe_address(to: list[str]) -> bool:
    local, _, domain = settings.UNSUBSCRIBE_MAILTO.lower().rpartition("@")
    for address in to:
        got_local, _, got_domain = address.rpartition("@")
        if got_domain == domain and (got_local == local or got_local.startswith(local + "+")):
            return True
    return False
