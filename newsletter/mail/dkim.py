"""DKIM signing of outgoing messages, for mail Engage hands to plain SMTP itself.

Configured by DKIM_PRIVATE_KEY_PATH, DKIM_SELECTOR and DKIM_DOMAIN; without all three, messages go
out unsigned (an ESP or the relay signs them). The signature covers List-Unsubscribe and
List-Unsubscribe-Post because RFC 8058 (section 3.3) requires both to be signed for one-click
unsubscribe to be honoured, and a relay's signature may not include them.
"""

import functools
import logging
import re
from pathlib import Path

import dkim as dkimpy
from django.conf import settings

log = logging.getLogger(__name__)

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "MIME-Version",
    "Content-Type",
)


def is_configured() -> bool:
    return bool(settings.DKIM_PRIVATE_KEY_PATH and settings.DKIM_SELECTOR and settings.DKIM_DOMAIN)


def sign(message: bytes) -> bytes:
    """`message` (CRLF line endings, as sent over SMTP) with a DKIM-Signature header first, or
    unchanged when DKIM is not configured."""
    if not is_configured():
        return message
    signature = dkimpy.sign(
        message,
        selector=settings.DKIM_SELECTOR.encode(),
        domain=settings.DKIM_DOMAIN.encode(),
        privkey=_private_key(settings.DKIM_PRIVATE_KEY_PATH),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[name.encode() for name in _present(message, SIGNED_HEADERS)],
    )
    return signature + message


@functools.cache
def _private_key(path: str) -> bytes:
    """Read once per process (per path, so a test can switch keys)."""
    return Path(path).read_bytes()


def _present(message: bytes, names: tuple[str, ...]) -> list[str]:
    # Signing a header the message lacks would forbid adding it later; sign only what is there.
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = {m.group(1).lower() for m in re.finditer(rb"^([A-Za-z0-9-]+):", head, re.MULTILINE)}
    return [name for name in names if name.lower().encode() in found]
