"""ESP webhook calls as each ESP makes them: its URL, its payload shape (from the ESP's documented
examples, as django-anymail's own tests use them) and its proof of origin, which is one of

- HTTP basic auth in the webhook URL (Postmark, Brevo, Mailjet, SparkPost, Mailtrap):
  `ANYMAIL_WEBHOOK_SECRET`;
- an HMAC of the request (Mailgun: timestamp + token; Mandrill: the URL + sorted form fields;
  MailerSend: the body; Unisender Go: an MD5 of the body with the key in it; Resend: svix's
  id + timestamp + body);
- a public-key signature of the body (Postal: RSA; SendGrid: ECDSA over timestamp + body; Amazon
  SES via SNS: RSA with the certificate at SigningCertURL, here tests/sns_standin.py's).

Every ESP also sends the basic auth when `ANYMAIL_WEBHOOK_SECRET` is set, as the URL configured at
the ESP carries it; anymail checks both.

Each builder returns a `Call`: what `urllib` posts. `forged()` makes the same call as someone
without the ESP's key would: the wrong password, or a signature made with another key.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from svix.webhooks import Webhook as SvixWebhook

from tests.sns_standin import SnsStandin

# Postal signs with RSA over SHA-1: its scheme, not our choice.
_SHA1 = hashes.SHA1()  # noqa: S303

WEBHOOK_SECRET = "engage-hook:Vb3n0sKq8sXw2hJt"
WRONG_SECRET = "engage-hook:not-the-password"
MAILGUN_KEY = "mailgun-signing-key-4f1d9a7c2e"
MANDRILL_KEY = "mandrill-webhook-key-8c2b"
MAILERSEND_SECRET = "mailersend-signing-secret-21ab"
UNISENDER_GO_KEY = "unisender-go-api-key-77cd"
RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-signing-secret-5e0f9b").decode()
OTHER_RESEND_SECRET = "whsec_" + base64.b64encode(b"a-guess-at-the-secret").decode()
# Amazon SNS's certificate host, stood in for on loopback (the web process is told to allow it).
SNS = SnsStandin()
# Mandrill signs the URL registered at Mandrill (with the basic auth in it), which behind a proxy
# is not the one gunicorn sees: ANYMAIL_MANDRILL_WEBHOOK_URL repeats it.
MANDRILL_URL = f"https://{WEBHOOK_SECRET}@news.example.org/webhooks/anymail/mandrill/tracking/"

_POSTAL_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
_OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER_EC = ec.generate_private_key(ec.SECP256R1())


def _public_body(private_key) -> str:
    """The base64 body of the PEM public key, as Postal and SendGrid show it to paste."""
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "".join(pem.decode().splitlines()[1:-1])


def server_environment() -> dict[str, str]:
    """What the web process needs to accept every ESP below."""
    return {
        "ANYMAIL_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "ANYMAIL_MANDRILL_WEBHOOK_KEY": MANDRILL_KEY,
        "ANYMAIL_MANDRILL_WEBHOOK_URL": MANDRILL_URL,
        "ANYMAIL_MAILERSEND_SIGNING_SECRET": MAILERSEND_SECRET,
        "ANYMAIL_UNISENDER_GO_API_KEY": UNISENDER_GO_KEY,
        "ANYMAIL_POSTAL_WEBHOOK_KEY": _public_body(_POSTAL_KEY),
        "ANYMAIL_SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": _public_body(_SENDGRID_KEY),
        "ANYMAIL_RESEND_SIGNING_SECRET": RESEND_SECRET,
        "SNS_CERT_URL_ALLOW": SNS.start().base + "/sns/",
        # boto3 confirms an SNS subscription at the stand-in, with credentials it never checks.
        "AWS_ENDPOINT_URL_SNS": SNS.base,
        "AWS_ACCESS_KEY_ID": "AKIASTANDIN",
        "AWS_SECRET_ACCESS_KEY": "stand-in",
    }


def _basic(secret: str) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


@dataclass(frozen=True)
class Call:
    esp: str
    path: str
    body: bytes
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    secret: str = WEBHOOK_SECRET  # the basic auth in the URL configured at the ESP

    def request_headers(self) -> dict:
        return {
            "Content-Type": self.content_type,
            "Authorization": _basic(self.secret),
            **self.headers,
        }


def _json(value) -> bytes:
    return json.dumps(value).encode()


# --- basic auth ESPs ----------------------------------------------------------------------------


def postmark_bounce(message_id: str, email: str, *, details: str = "") -> Call:
    return Call(
        "Postmark",
        "/webhooks/anymail/postmark/tracking/",
        _json(
            {
                "RecordType": "Bounce",
                "MessageStream": "outbound",
                "ID": int(uuid.uuid4().int % 10**15),
                "Type": "HardBounce",
                "TypeCode": 1,
                "Name": "Hard bounce",
                "Tag": "campaign",
                "MessageID": message_id,
                "Metadata": {},
                "ServerID": 23,
                "Description": "The server was unable to deliver your message (ex: unknown user).",
                "Details": details
                or "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
                "Email": email,
                "From": "news@engage.example.org",
                "BouncedAt": "2026-12-07T16:33:54.9070259Z",
                "DumpAvailable": True,
                "Inactive": True,
                "CanActivate": True,
                "Subject": "News from Engage",
                "Content": "",
            }
        ),
    )


def sns_call(envelope: dict) -> Call:
    """Amazon SNS → HTTPS: the envelope posted as text/plain, its type and id in headers too."""
    return Call(
        "Amazon SES",
        "/webhooks/anymail/amazon_ses/tracking/",
        _json(envelope),
        content_type="text/plain; charset=UTF-8",
        headers={
            "x-amz-sns-message-id": envelope["MessageId"],
            "x-amz-sns-message-type": envelope["Type"],
        },
    )


def ses_notification(ses_event: dict, *, cert_url: str = "", version: str = "1", key=None) -> Call:
    """Amazon SES → SNS → HTTPS: the SES event as a JSON string inside an SNS envelope, signed
    as SNS signs (with the stand-in's key and certificate unless told otherwise)."""
    sns_id = str(uuid.uuid4())
    envelope = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:engage-ses-events",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(ses_event) + "\n",
        "Timestamp": "2026-12-07T17:58:59.675Z",
        "SignatureVersion": version,
        "SigningCertURL": cert_url or SNS.cert_url(),
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&x=y",
    }
    return sns_call(SNS.sign(envelope, key=key))


def sns_subscription_confirmation(token: str, *, key=None) -> Call:
    topic = "arn:aws:sns:eu-west-1:123456789012:engage-ses-events"
    envelope = {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
        f"&TopicArn={topic}&Token={token}",
        "Timestamp": "2026-12-07T17:50:00.000Z",
        "SignatureVersion": "1",
        "SigningCertURL": SNS.cert_url(),
    }
    return sns_call(SNS.sign(envelope, key=key))


def ses_bounce(message_id: str, emails: list[str], *, kind: str = "Permanent", **signing) -> Call:
    """`signing`: ses_notification's options (another certificate URL, version or key)."""
    return ses_notification(
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": kind,
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": email,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": f"smtp; 550 5.1.1 <{email}>... User unknown",
                    }
                    for email in emails
                ],
                "timestamp": "2026-12-07T17:58:58.101Z",
                "feedbackId": f"0102018c-{uuid.uuid4()}-000000",
                "reportingMTA": "dns; a8-30.smtp-out.amazonses.com",
            },
            "mail": {
                "timestamp": "2026-12-07T17:58:50.237Z",
                "source": "news@engage.example.org",
                "messageId": message_id,
                "destination": emails,
            },
        },
        **signing,
    )


def brevo_bounce(message_id: str, email: str) -> Call:
    return Call(
        "Brevo",
        "/webhooks/anymail/brevo/tracking/",
        _json(
            {
                "event": "hard_bounce",
                "email": email,
                "id": 1234567,
                "ts_epoch": int(time.time() * 1000),
                "message-id": message_id,
                "reason": " RecipientError: 550 5.1.1 Requested action not taken: mailbox "
                "unavailable.",
                "tag": "campaign",
            }
        ),
    )


def mailjet_bounce(message_id: str, email: str) -> Call:
    return Call(
        "Mailjet",
        "/webhooks/anymail/mailjet/tracking/",
        _json(
            [
                {
                    "event": "bounce",
                    "time": int(time.time()),
                    "MessageID": int(message_id),
                    "Message_GUID": str(uuid.uuid4()),
                    "email": email,
                    "mj_campaign_id": 0,
                    "mj_contact_id": 9876543210,
                    "customcampaign": "",
                    "blocked": False,
                    "hard_bounce": True,
                    "error_related_to": "recipient",
                    "error": "user unknown",
                }
            ]
        ),
    )


def sparkpost_bounce(message_id: str, email: str) -> Call:
    return Call(
        "SparkPost",
        "/webhooks/anymail/sparkpost/tracking/",
        _json(
            [
                {
                    "msys": {
                        "message_event": {
                            "type": "bounce",
                            "bounce_class": "10",
                            "customer_id": "00000",
                            "error_code": "550",
                            "event_id": str(uuid.uuid4().int % 10**17),
                            "message_id": "0004e3724f57753a3561",
                            "raw_rcpt_to": email,
                            "rcpt_to": email,
                            "raw_reason": f"550 5.1.1 <{email}>: Recipient address rejected: "
                            "User unknown",
                            "reason": "550 5.1.1 ...@... Recipient address rejected: ...",
                            "timestamp": str(int(time.time())),
                            "transmission_id": message_id,
                        }
                    },
                    "cust": {"id": "00000"},
                }
            ]
        ),
    )


def mailtrap_bounce(message_id: str, email: str) -> Call:
    return Call(
        "Mailtrap",
        "/webhooks/anymail/mailtrap/tracking/",
        _json(
            {
                "events": [
                    {
                        "event": "bounce",
                        "timestamp": int(time.time()),
                        "sending_stream": "bulk",
                        "message_id": message_id,
                        "email": email,
                        "event_id": str(uuid.uuid4()),
                        "category": "campaign",
                        "response": "bounced (550 5.1.1 The email account that you tried to "
                        "reach does not exist.)",
                        "response_code": 550,
                        "bounce_category": "hard",
                    }
                ]
            }
        ),
    )


def resend_bounce(message_id: str, email: str, *, secret: str = RESEND_SECRET) -> Call:
    call = Call(
        "Resend",
        "/webhooks/anymail/resend/tracking/",
        _json(
            {
                "created_at": "2026-12-07T20:01:01.598Z",
                "data": {
                    "bounce": {
                        "message": "The recipient's email provider sent a hard bounce message.",
                        "subType": "General",
                        "type": "Permanent",
                    },
                    "created_at": "2026-12-07T20:01:00.339Z",
                    "email_id": message_id,
                    "from": "News <news@engage.example.org>",
                    "subject": "News from Engage",
                    "to": [email],
                },
                "type": "email.bounced",
            }
        ),
    )
    return _svix_signed(call, secret=secret)


def _svix_signed(call: Call, *, secret: str = RESEND_SECRET) -> Call:
    """Resend signs through Svix: id, timestamp and body, HMAC-SHA256 with the signing secret."""
    svix_id, now = f"msg_{uuid.uuid4().hex[:24]}", datetime.now(UTC)
    signature = SvixWebhook(secret).sign(svix_id, now, call.body.decode())
    headers = {
        "svix-id": svix_id,
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": signature,
    }
    return replace(call, headers=headers)


# --- signed ESPs ----------------------------------------------------------------------------


def mailgun(event_data: dict, *, key: str = MAILGUN_KEY) -> Call:
    """Mailgun's JSON webhook: HMAC-SHA256 of timestamp + token. The body itself is not signed,
    so Engage also refuses a token it has seen (see newsletter/inbound/replay.py)."""
    timestamp, token = str(int(time.time())), uuid.uuid4().hex + uuid.uuid4().hex[:18]
    return Call(
        "Mailgun",
        "/webhooks/anymail/mailgun/tracking/",
        _json(
            {
                "signature": {
                    "timestamp": timestamp,
                    "token": token,
                    "signature": hmac.new(
                        key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
                    ).hexdigest(),
                },
                "event-data": event_data,
            }
        ),
    )


def mailgun_event(event: str, message_id: str, email: str, **extra) -> dict:
    return {
        "tags": [],
        "timestamp": time.time(),
        "id": uuid.uuid4().hex[:22],
        "recipient-domain": email.split("@")[1],
        "campaigns": [],
        "user-variables": {},
        "log-level": "warn" if event == "complained" else "error",
        "envelope": {"sender": "news@engage.example.org", "transport": "smtp", "targets": email},
        "message": {
            "headers": {
                "to": email,
                "message-id": message_id.strip("<>"),
                "from": "news@engage.example.org",
                "subject": "News from Engage",
            },
            "attachments": [],
            "size": 4809,
        },
        "recipient": email,
        "event": event,
        **extra,
    }


def mailgun_complaint(message_id: str, email: str) -> Call:
    return mailgun(mailgun_event("complained", message_id, email))


def mailgun_bounce(message_id: str, email: str, *, code: int = 550, message: str = "") -> Call:
    return mailgun(
        mailgun_event(
            "failed",
            message_id,
            email,
            severity="permanent",
            reason="bounce",
            **{
                "delivery-status": {
                    "code": code,
                    "message": message or "5.1.1 The email account does not exist.",
                    "description": "",
                    "attempt-no": 1,
                    "enhanced-code": "5.1.1",
                }
            },
        )
    )


def mandrill_bounce(message_id: str, email: str, *, key: str = MANDRILL_KEY) -> Call:
    events = json.dumps(
        [
            {
                "event": "hard_bounce",
                "msg": {
                    "ts": int(time.time()) - 60,
                    "subject": "News from Engage",
                    "email": email,
                    "sender": "news@engage.example.org",
                    "bounce_description": "bad_mailbox",
                    "bgtools_code": 10,
                    "diag": "smtp;550 5.1.1 The email account that you tried to reach does "
                    "not exist.",
                    "_id": message_id,
                },
                "_id": message_id,
                "ts": int(time.time()),
            }
        ]
    )
    # Mandrill signs the URL it posts to and the form fields, sorted.
    signed_url = MANDRILL_URL
    signature = base64.b64encode(
        hmac.new(
            key.encode(), f"{signed_url}mandrill_events{events}".encode(), hashlib.sha1
        ).digest()
    ).decode()
    return Call(
        "Mandrill",
        "/webhooks/anymail/mandrill/tracking/",
        urlencode({"mandrill_events": events}).encode(),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Mandrill-Signature": signature},
    )


def mailersend_bounce(message_id: str, email: str, *, secret: str = MAILERSEND_SECRET) -> Call:
    body = _json(
        {
            "type": "activity.hard_bounced",
            "created_at": "2026-12-07T21:48:13.593000Z",
            "webhook_id": "2351ndgwr4zlw7jq",
            "url": "https://news.example.org/webhooks/anymail/mailersend/tracking/",
            "data": {
                "object": "activity",
                "id": uuid.uuid4().hex[:24],
                "type": "hard_bounced",
                "created_at": "2026-12-07T21:48:13.593000Z",
                "email": {
                    "object": "email",
                    "status": "rejected",
                    "subject": "News from Engage",
                    "message": {"object": "message", "id": message_id},
                    "recipient": {"object": "recipient", "email": email},
                },
                "morph": {
                    "object": "recipient_bounce",
                    "reason": "550 5.1.1 The email account does not exist",
                },
            },
        }
    )
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return Call(
        "MailerSend",
        "/webhooks/anymail/mailersend/tracking/",
        body,
        headers={"Signature": signature},
    )


def unisender_go_bounce(message_id: str, email: str, *, key: str = UNISENDER_GO_KEY) -> Call:
    """Unisender Go: the body's "auth" is the MD5 of the body with the API key in its place."""
    event = {
        "event_name": "transactional_email_status",
        "event_data": {
            "job_id": message_id,
            "email": email,
            "status": "hard_bounced",
            "event_time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "delivery_info": {
                "delivery_status": "err_user_unknown",
                "destination_response": f"550 5.1.1 User unknown '{email}'.",
            },
        },
    }
    payload = {"auth": key, "events_by_user": [{"user_id": 456, "events": [event]}]}
    unsigned = json.dumps(payload).encode()
    auth = hashlib.md5(unsigned).hexdigest()  # noqa: S324 - Unisender Go's own scheme
    return Call(
        "Unisender Go",
        "/webhooks/anymail/unisender_go/tracking/",
        unsigned.replace(key.encode(), auth.encode()),
    )


def postal_bounce(message_id: str, email: str, *, private_key=_POSTAL_KEY) -> Call:
    body = _json(
        {
            "event": "MessageBounced",
            "timestamp": time.time(),
            "uuid": str(uuid.uuid4()),
            "payload": {
                "original_message": {
                    "id": int(message_id),
                    "token": "Ld7eRmfHaFhN",
                    "direction": "outgoing",
                    "message_id": f"{uuid.uuid4()}@rp.postal.example.org",
                    "to": email,
                    "from": "news@engage.example.org",
                    "subject": "News from Engage",
                    "timestamp": time.time() - 60,
                    "spam_status": "NotChecked",
                    "tag": "campaign",
                },
                "bounce": {
                    "id": 233,
                    "token": "o5KzHJiJ8HGS",
                    "direction": "incoming",
                    "message_id": f"{uuid.uuid4()}@mx.example.net",
                    "to": "bounces@rp.postal.example.org",
                    "from": "MAILER-DAEMON@mx.example.net",
                    "subject": "Mail delivery failed",
                    "timestamp": time.time(),
                    "spam_status": "NotChecked",
                    "tag": None,
                },
            },
        }
    )
    signature = base64.b64encode(private_key.sign(body, padding.PKCS1v15(), _SHA1))
    return Call(
        "Postal",
        "/webhooks/anymail/postal/tracking/",
        body,
        headers={"X-Postal-Signature": signature.decode()},
    )


def sendgrid_bounce(message_id: str, email: str, *, private_key=_SENDGRID_KEY) -> Call:
    """SendGrid's signed event webhook: ECDSA P-256 over the timestamp header + the body."""
    body = _json(
        [
            {
                "email": email,
                "timestamp": int(time.time()),
                "smtp-id": f"<{uuid.uuid4().hex}@ismtpd0006p1sjc2.sendgrid.net>",
                "event": "bounce",
                "type": "bounce",
                "status": "5.1.1",
                "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
                "sg_event_id": uuid.uuid4().hex[:22],
                "sg_message_id": f"{uuid.uuid4().hex[:22]}.filter0077p1las1.21536.5717FC482.0",
                "anymail_id": message_id,
                "tls": 1,
            }
        ]
    )
    timestamp = str(int(time.time()))
    signature = private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return Call(
        "SendGrid",
        "/webhooks/anymail/sendgrid/tracking/",
        body,
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        },
    )


def forged(call: Call) -> Call:
    """`call` as someone without the ESP's secret would make it: the wrong password where basic
    auth is the proof, a signature made with their own key (or a guess) where the ESP signs."""
    rebuild = {
        "Mailgun": lambda: mailgun(json.loads(call.body)["event-data"], key="guessed-key"),
        "MailerSend": lambda: replace(
            call, headers={"Signature": hmac.new(b"guess", call.body, "sha256").hexdigest()}
        ),
        "Mandrill": lambda: replace(call, headers={"X-Mandrill-Signature": "bm90IGl0"}),
        "Unisender Go": lambda: replace(
            call, body=call.body.replace(b'"auth": "', b'"auth": "0', 1)
        ),
        "Postal": lambda: replace(
            call,
            headers={
                "X-Postal-Signature": base64.b64encode(
                    _OTHER_RSA.sign(call.body, padding.PKCS1v15(), _SHA1)
                ).decode()
            },
        ),
        "SendGrid": lambda: replace(
            call,
            headers={
                **call.headers,
                "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(
                    _OTHER_EC.sign(
                        call.headers["X-Twilio-Email-Event-Webhook-Timestamp"].encode() + call.body,
                        ec.ECDSA(hashes.SHA256()),
                    )
                ).decode(),
            },
        ),
    }
    if call.esp == "Resend":
        return _svix_signed(call, secret=OTHER_RESEND_SECRET)
    if call.esp == "Amazon SES":
        return sns_call(SNS.sign(json.loads(call.body), key=_OTHER_RSA))
    if call.esp not in rebuild:
        return replace(call, secret=WRONG_SECRET)
    return rebuild[call.esp]()
