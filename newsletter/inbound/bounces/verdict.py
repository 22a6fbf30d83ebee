"""What a report comes to: the kinds, who failed, and the rule for each (no database reads).

`judge` reads one recipient's status code and the server's words; `consequence` says what that
does to the reader; `verdict` makes one result of a report's recipients."""

import re
from dataclasses import dataclass, field

from newsletter.models import InboundMessage

Kind = InboundMessage.Kind
HARD_BOUNCE, SOFT_BOUNCE, COMPLAINT = Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.COMPLAINT
UNSUBSCRIBE, AUTO_REPLY, OTHER = Kind.UNSUBSCRIBE, Kind.AUTO_REPLY, Kind.OTHER

# Who failed, for a bounce (InboundMessage.WhoFailed).
RECIPIENT = InboundMessage.WhoFailed.RECIPIENT  # the address is dead: suppress the reader
SENDER = InboundMessage.WhoFailed.SENDER  # our sending was refused: never the reader's fault
UNKNOWN = InboundMessage.WhoFailed.UNKNOWN  # counted; not enough to suppress at once


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


STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
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
    status = status or first_status(diagnostic)
    klass = status[:1] or first_reply_class(diagnostic)
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


def first_status(text: str) -> str:
    """The most telling enhanced status code in a text: a specific one beats x.0.0."""
    codes = [".".join(found.groups()) for found in STATUS.finditer(text)]
    specific = [code for code in codes if not code.endswith(".0.0")]
    return (specific or codes or [""])[0]


def first_reply_class(text: str) -> str:
    found = _REPLY.search(text)
    return found.group(1) if found else ""


def verdict(source: str, failures: list[Failure]) -> Classified:
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
