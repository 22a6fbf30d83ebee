"""The classifier's edge cases, each in a message written here (the real-world ones are in
test_real_bounces.py)."""

import json

import pytest

from newsletter.inbound import bounces


def dsn(
    *recipients: str, headers: str = "", human: str = "The mail system could not deliver."
) -> bytes:
    blocks = "\n".join(recipients)
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: bounces@news.example.net
Subject: Undelivered Mail Returned to Sender
{headers}MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

{human}

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

{blocks}
--B
Content-Type: text/rfc822-headers

Message-ID: <campaign-1@news.example.net>
From: news@news.example.net

--B--
""".encode()


def recipient(address: str, action: str = "failed", status: str = "", diagnostic: str = "") -> str:
    lines = [f"Final-Recipient: rfc822; {address}", f"Action: {action}"]
    if status:
        lines.append(f"Status: {status}")
    if diagnostic:
        lines.append(f"Diagnostic-Code: smtp; {diagnostic}")
    return "\n".join(lines) + "\n"


def read(raw: bytes) -> bounces.Classified:
    return bounces.classify(bounces.parse(raw))


EXIM = b"""From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: bounces@news.example.net
Subject: Mail delivery failed: returning message to sender
Auto-Submitted: auto-replied
X-Failed-Recipients: reader@example.com
Precedence: bulk

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  reader@example.com
    SMTP error from remote mail server after RCPT TO:<reader@example.com>:
    host mx.example.com [192.0.2.1]: 550 5.1.1 <reader@example.com>: No such user here

------ This is a copy of the message, including all the headers. ------

Message-ID: <campaign-1@news.example.net>
"""


def test_an_exim_bounce_that_says_auto_replied_is_a_bounce():
    found = read(EXIM)
    assert (found.kind, found.who_failed, found.recipient) == (
        bounces.HARD_BOUNCE,
        bounces.RECIPIENT,
        "reader@example.com",
    )
    assert found.original_message_id == "campaign-1@news.example.net"


def test_a_dsn_with_precedence_bulk_is_a_bounce():
    raw = dsn(recipient("reader@example.com", status="5.1.1"), headers="Precedence: bulk\n")
    assert read(raw).kind == bounces.HARD_BOUNCE


def test_an_auto_reply_without_a_report_is_an_auto_reply():
    raw = b"From: reader@example.com\nSubject: Out of office\nAuto-Submitted: auto-replied\n\nAway."
    assert read(raw).kind == bounces.AUTO_REPLY


def test_a_failed_dsn_without_a_status_code_is_hard_but_blames_nobody():
    # The MTA gave up ("failed"), so it is not "try again"; but nothing says whose fault it is,
    # so it is counted and does not suppress on its own.
    found = read(dsn(recipient("reader@example.com"), human="Delivery failed."))
    assert (found.kind, found.who_failed) == (bounces.HARD_BOUNCE, bounces.UNKNOWN)


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind", "who"),
    [
        (
            "5.1.1",
            "550 5.1.1 <reader@example.com>: Recipient address rejected: User unknown",
            bounces.HARD_BOUNCE,
            bounces.RECIPIENT,
        ),
        ("5.1.2", "Host or domain name not found", bounces.HARD_BOUNCE, bounces.RECIPIENT),
        (
            "5.2.1",
            "550 5.2.1 The email account that you tried to reach is disabled",
            bounces.HARD_BOUNCE,
            bounces.RECIPIENT,
        ),
        (
            "5.7.26",
            "550 5.7.26 Unauthenticated email is not accepted due to domain's DMARC policy",
            bounces.HARD_BOUNCE,
            bounces.SENDER,
        ),
        (
            "5.7.1",
            "554 5.7.1 Service unavailable; client [192.0.2.9] blocked using zen.spamhaus.org",
            bounces.HARD_BOUNCE,
            bounces.SENDER,
        ),
        (
            "5.3.4",
            "552 5.3.4 Message size exceeds fixed limit",
            bounces.HARD_BOUNCE,
            bounces.SENDER,
        ),
        (
            "5.7.1",
            "554 5.7.1 <reader@example.com>: Relay access denied",
            bounces.HARD_BOUNCE,
            bounces.SENDER,
        ),
        ("5.2.2", "552 5.2.2 Mailbox full", bounces.SOFT_BOUNCE, bounces.RECIPIENT),
        ("4.4.7", "Delivery time expired", bounces.SOFT_BOUNCE, bounces.UNKNOWN),
        ("4.2.0", "450 4.2.0 Greylisted, try again later", bounces.SOFT_BOUNCE, bounces.UNKNOWN),
        ("5.0.0", "550 Requested action not taken", bounces.HARD_BOUNCE, bounces.UNKNOWN),
    ],
)
def test_who_failed_and_how_hard(status, diagnostic, kind, who):
    found = read(dsn(recipient("reader@example.com", status=status, diagnostic=diagnostic)))
    assert (found.kind, found.who_failed, found.failures[0].status) == (kind, who, status)


def test_every_recipient_of_a_report_is_listed_and_the_worst_decides():
    raw = dsn(
        recipient("full@example.com", status="4.2.2", diagnostic="452 4.2.2 Mailbox full"),
        recipient("gone@example.com", status="5.1.1", diagnostic="550 5.1.1 User unknown"),
        recipient("fine@example.com", action="delivered", status="2.0.0"),
    )
    found = read(raw)
    assert [(f.address, f.kind) for f in found.failures] == [
        ("full@example.com", bounces.SOFT_BOUNCE),
        ("gone@example.com", bounces.HARD_BOUNCE),
    ]
    assert (found.kind, found.recipient) == (bounces.HARD_BOUNCE, "gone@example.com")


def test_a_delivery_notice_is_not_a_bounce():
    assert read(dsn(recipient("reader@example.com", "delivered", "2.0.0"))).kind == bounces.OTHER


def ses(notification: dict) -> bytes:
    body = json.dumps({"Type": "Notification", "Message": json.dumps(notification)})
    return (
        f"From: no-reply@sns.amazonaws.com\nSubject: AWS Notification Message\n\n{body}\n".encode()
    )


def test_an_ses_delivery_notice_is_not_a_bounce_and_names_no_json():
    found = read(
        ses(
            {
                "notificationType": "Delivery",
                "delivery": {"recipients": ["reader@example.com"], "smtpResponse": "250 ok"},
            }
        )
    )
    assert (found.kind, found.recipient, found.failures) == (bounces.OTHER, "", [])


def test_an_ses_bounce_names_each_recipient():
    found = read(
        ses(
            {
                "notificationType": "Bounce",
                "bounce": {
                    "bounceType": "Permanent",
                    "bouncedRecipients": [
                        {
                            "emailAddress": "a@example.com",
                            "status": "5.1.1",
                            "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                        },
                        {
                            "emailAddress": "b@example.com",
                            "status": "5.7.1",
                            "diagnosticCode": "smtp; 550 5.7.1 rejected by DMARC policy",
                        },
                    ],
                },
            }
        )
    )
    assert [(f.address, f.who_failed) for f in found.failures] == [
        ("a@example.com", bounces.RECIPIENT),
        ("b@example.com", bounces.SENDER),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b'Content-Type: multipart/report; boundary="X"\n\n'
        b"--X\nContent-Type: message/delivery-status\n\n",
        b"From: a\x00b@example.com\nSubject: \x00\x00\n\nbody\x00with NUL",
        b"From: MAILER-DAEMON\nSubject: Undelivered \xff\xfe\n"
        b"Content-Type: text/plain; charset=x-nope\n\n"
        b"550 5.1.1 \xe9\xe8 user unknown <r@example.com>",
        b"Content-Type: message/rfc822\n\nnot: really\n\n" * 3,
        b'Content-Type: multipart/mixed; boundary=""\n\n--\n--\n',
        b"\xff\xfe\x00garbage without headers",
    ],
    ids=["truncated-report", "nul-bytes", "non-utf8", "broken-rfc822", "empty-boundary", "garbage"],
)
def test_bad_input_is_classified_never_raised(raw):
    found = read(raw)
    assert found.kind in {bounces.OTHER, bounces.HARD_BOUNCE, bounces.SOFT_BOUNCE}
    assert "\x00" not in found.reason + found.recipient


def test_twenty_megabytes_are_read_without_error():
    # The inbound door refuses anything over INBOUND_MAX_BYTES before reading it; the classifier
    # itself must still cope with a large body behind a bounce's report.
    assert read(EXIM + b"x" * (20 * 1024 * 1024)).kind == bounces.HARD_BOUNCE


@pytest.mark.parametrize(
    ("kind", "who", "consequence"),
    [
        (bounces.HARD_BOUNCE, bounces.RECIPIENT, bounces.SUPPRESS),
        (bounces.HARD_BOUNCE, bounces.SENDER, bounces.SENDING_PROBLEM),
        (bounces.HARD_BOUNCE, bounces.UNKNOWN, bounces.COUNT),
        (bounces.SOFT_BOUNCE, bounces.RECIPIENT, bounces.COUNT),
        (bounces.SOFT_BOUNCE, bounces.UNKNOWN, bounces.COUNT),
        (bounces.SOFT_BOUNCE, bounces.SENDER, bounces.SENDING_PROBLEM),
    ],
)
def test_what_a_bounce_does_to_the_reader(kind, who, consequence):
    assert bounces.consequence(kind, who) == consequence
