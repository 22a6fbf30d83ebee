"""The mailbox polled by beat (INBOUND_MAILBOX_URL=imaps://user:pass@host[:port]/FOLDER).

Each message is fetched without marking it read, recorded, and only then flagged (\\Seen and our
keyword), so a connection dropped between the two leaves it unflagged: the next poll fetches it
again and the recording, keyed by the message's hash, changes nothing. Nothing is ever deleted:
the mailbox stays the record of what came in.
"""

import logging
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imapclient import IMAPClient

from newsletter.inbound.receive import KEPT_OF_REJECTED, receive

log = logging.getLogger(__name__)

RECORDED = "EngageRecorded"  # the IMAP keyword a recorded message carries
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    tls: bool  # imaps: TLS from the start; imap: STARTTLS, required
    user: str
    password: str
    folder: str


def mailbox_from_url(url: str) -> Mailbox:
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ValueError("INBOUND_MAILBOX_URL must look like imaps://user:password@host/INBOX")
    tls = parts.scheme == "imaps"
    return Mailbox(
        host=parts.hostname,
        port=parts.port or (993 if tls else 143),
        tls=tls,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def poll(url: str) -> int:
    """Record every message not recorded yet; the number recorded for the first time."""
    mailbox = mailbox_from_url(url)
    recorded = 0
    with _connect(mailbox) as client:
        client.select_folder(mailbox.folder)
        for uid in client.search(["UNKEYWORD", RECORDED]):
            recorded += poll_one(client, uid)
    return recorded


def poll_one(client: IMAPClient, uid: int) -> bool:
    size = client.fetch([uid], ["RFC822.SIZE"]).get(uid, {}).get(b"RFC822.SIZE")
    if size is None:  # expunged by someone else meanwhile
        return False
    if size > settings.INBOUND_MAX_BYTES:
        # Only its start: enough for staff to see what it was, without pulling megabytes.
        fetched = client.fetch([uid], [f"BODY.PEEK[]<0.{KEPT_OF_REJECTED}>"]).get(uid, {})
        raw = fetched.get(b"BODY[]<0>", b"")
    else:
        raw = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}).get(b"BODY[]", b"")
    result = receive(raw, source="imap", size=size)
    client.add_flags([uid], [RECORDED, b"\\Seen"])
    return result.created


def _connect(mailbox: Mailbox) -> IMAPClient:
    context = ssl.create_default_context()
    client = IMAPClient(
        mailbox.host,
        port=mailbox.port,
        ssl=mailbox.tls,
        ssl_context=context,
        timeout=TIMEOUT_SECONDS,
    )
    if not mailbox.tls:
        client.starttls(context)
    client.login(mailbox.user, mailbox.password)
    return client
