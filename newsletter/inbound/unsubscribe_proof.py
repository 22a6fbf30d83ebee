"""Whether a request by mail to the unsubscribe address proves whom it comes from.

A `mailto:` unsubscribe acts only on proof (newsletter.inbound.matching asks here):

- a valid signed token in the address it was sent to (`unsubscribe+<token>@…`, from the
  List-Unsubscribe header of one reader's copy): that reader (newsletter.mail.verp); or
- a From address whose domain passed DMARC, as OUR receiving server says in the topmost
  Authentication-Results header (RFC 8601), known by its authserv-id (INBOUND_AUTHSERV_ID):
  that address, and no other.

Only the topmost Authentication-Results header is read. The receiving server adds its own above
everything the message arrived with, so a header "added" by the sender further down, however it
claims to be ours, is never looked at; a topmost header of another server (a forwarder's, the
mailbox provider's when ours added none) is not ours, and proves nothing. The header is parsed
with authres (maintained with dkimpy). Without proof the request is recorded, with the reason, for
staff, and changes nobody: anyone can write any From.
"""

from email.message import Message
from email.utils import getaddresses

import authres
from django.conf import settings


def verified_sender(message: Message) -> tuple[str, str]:
    """(the From address DMARC vouches for, '') or ('', why there is none)."""
    authserv_id = settings.INBOUND_AUTHSERV_ID.strip().lower()
    if not authserv_id:
        return "", "INBOUND_AUTHSERV_ID is not set, so no DMARC result is believed"
    headers = message.get_all("Authentication-Results") or []
    if not headers:
        return "", "no Authentication-Results header"
    try:
        results = authres.AuthenticationResultsHeader.parse_value(" ".join(str(headers[0]).split()))
    except (authres.AuthResError, ValueError, IndexError):
        return "", "the topmost Authentication-Results header cannot be read"
    if (results.authserv_id or "").lower() != authserv_id:
        return "", "the topmost Authentication-Results header is not our receiving server's"
    senders = [address for _, address in getaddresses(message.get_all("From") or []) if address]
    if len(senders) != 1 or "@" not in senders[0]:
        return "", "not exactly one From address"
    sender = senders[0].strip().lower()
    domain = sender.rpartition("@")[2]
    for result in results.results:
        if str(result.method).lower() != "dmarc" or str(result.result).lower() != "pass":
            continue
        vouched = {str(p.value).lower() for p in result.properties if p.name == "from"}
        if domain in vouched:
            return sender, ""
    return "", f"our receiving server did not find DMARC passing for {domain}"
