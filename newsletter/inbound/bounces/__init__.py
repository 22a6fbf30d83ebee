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

verdict (kinds, who failed, judge, consequence), mime (reading any message), reports (structured
reports), plain (plain-text bounces, auto-replies). Reads no database: imports only models.
"""

from email.message import Message

from newsletter.inbound.bounces.mime import header, parse, recipients_of, sender_of
from newsletter.inbound.bounces.plain import (
    add_original,
    auto_reply_reason,
    is_auto_reply,
    plain_bounce,
    to_unsubscribe_address,
)
from newsletter.inbound.bounces.reports import (
    delivery_status,
    feedback_report,
    hotmail_complaint,
    ses_notification,
)
from newsletter.inbound.bounces.verdict import (
    AUTO_REPLY,
    COMPLAINT,
    COUNT,
    HARD_BOUNCE,
    OTHER,
    RECIPIENT,
    SENDER,
    SENDING_PROBLEM,
    SOFT_BOUNCE,
    SUPPRESS,
    UNKNOWN,
    UNSUBSCRIBE,
    Classified,
    Failure,
    Kind,
    consequence,
    judge,
)

__all__ = [
    "AUTO_REPLY",
    "COMPLAINT",
    "COUNT",
    "HARD_BOUNCE",
    "OTHER",
    "RECIPIENT",
    "SENDER",
    "SENDING_PROBLEM",
    "SOFT_BOUNCE",
    "SUPPRESS",
    "UNKNOWN",
    "UNSUBSCRIBE",
    "Classified",
    "Failure",
    "Kind",
    "classify",
    "consequence",
    "header",
    "judge",
    "parse",
]


def classify(message: Message, *, envelope_to: str = "") -> Classified:
    to = recipients_of(message, envelope_to)
    found = (
        feedback_report(message)
        or hotmail_complaint(message)
        or ses_notification(message)
        or delivery_status(message)
        or plain_bounce(message)
    )
    if found is not None:
        found.to = to
        add_original(message, found)
        return found
    if is_auto_reply(message):
        # Before the unsubscribe address: an auto-reply sent there must not unsubscribe (a loop).
        return Classified(AUTO_REPLY, reason=auto_reply_reason(message), to=to)
    if to_unsubscribe_address(to):
        return Classified(
            UNSUBSCRIBE,
            reason="request to the unsubscribe address",
            to=to,
            sender=sender_of(message),
        )
    return Classified(OTHER, reason="not a report: kept for staff", to=to)
