"""Whether the From domain is set up the way Gmail, Yahoo and Outlook.com require of bulk senders.

Since 2024 (Gmail, Yahoo) and May 2025 (Outlook.com), a sender of more than about 5,000 messages a
day to their users must have: SPF and DKIM for the From domain, both passing; a DMARC record (at
least p=none) that one of them aligns with; one-click unsubscribe (RFC 8058) in every bulk
message; and a complaint rate under 0.3%. Mail from a domain without them is refused or filed as
spam. This module looks the records up with dnspython (DNS_RESOLVER points it at a server of its
own; the system's resolver otherwise) and says, in plain words, what is there and what is missing.
Shown in admin (Sender authentication) and by `manage.py check --deploy`.
"""

from dataclasses import dataclass
from email.utils import parseaddr

import dns.exception
import dns.resolver
from django.conf import settings

ALL_THREE = ("Gmail", "Yahoo", "Outlook.com")
LOOKUP_SECONDS = 5.0
# RFC 2606's names, which no one can publish records for: the demo's From address is one.
EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net")


@dataclass(frozen=True)
class Check:
    name: str  # SPF, DKIM, DMARC, one-click unsubscribe
    ok: bool
    found: str  # what is there, as published (or "")
    advice: str  # what it means, and what to do when it is missing
    required_by: tuple[str, ...] = ALL_THREE


class Unanswered(Exception):
    """The DNS server did not answer: nothing can be said either way."""


def from_domain() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2].lower()


def is_example(domain: str) -> bool:
    return any(domain == name or domain.endswith(f".{name}") for name in EXAMPLE_DOMAINS)


def resolver() -> dns.resolver.Resolver:
    """The system's resolver, or DNS_RESOLVER ("host:port") when set."""
    if not settings.DNS_RESOLVER:
        made = dns.resolver.Resolver()
    else:
        host, _, port = settings.DNS_RESOLVER.rpartition(":")
        made = dns.resolver.Resolver(configure=False)
        made.nameservers = [host.strip("[]")]
        made.port = int(port)
    made.lifetime = LOOKUP_SECONDS
    return made


def txt(name: str, using: dns.resolver.Resolver) -> list[str]:
    """The TXT records at `name` (each one's strings joined, as RFC 7208 says), [] for none."""
    try:
        answer = using.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
        raise Unanswered(f"{name}: {error}") from error
    return [b"".join(record.strings).decode(errors="replace") for record in answer]


def checks(domain: str | None = None, using: dns.resolver.Resolver | None = None) -> list[Check]:
    """Every requirement, checked for `domain` (the From address's by default)."""
    domain = (domain or from_domain()).lower()
    using = using or resolver()
    found = []
    for check in (spf, dkim, dmarc):
        try:
            found.append(check(domain, using))
        except Unanswered as error:
            found.append(
                Check(
                    check.__name__.upper(),
                    False,
                    "",
                    f"Could not be checked: the DNS server did not answer ({error}).",
                )
            )
    found.append(one_click())
    return found


def spf(domain: str, using) -> Check:
    records = [r for r in txt(domain, using) if r.lower().startswith("v=spf1")]
    if not records:
        return Check(
            "SPF",
            False,
            "",
            f"Missing: {domain} publishes no SPF record. Add a TXT record at {domain} that names "
            'the servers sending for it, e.g. "v=spf1 include:<your provider> ~all".',
        )
    if len(records) > 1:
        return Check(
            "SPF",
            False,
            " | ".join(records),
            f"{domain} publishes {len(records)} SPF records: receivers then treat it as having "
            "none (RFC 7208). Merge them into one.",
        )
    return Check("SPF", True, records[0], f"{domain} says which servers may send its mail.")


def dkim(domain: str, using) -> Check:
    selector = settings.DKIM_SELECTOR
    signing = (settings.DKIM_DOMAIN or domain).lower()
    if not selector:
        return Check(
            "DKIM",
            False,
            "",
            "Not known: DKIM_SELECTOR is not set, so Engage signs nothing itself. If your ESP "
            "signs for you, set DKIM_SELECTOR and DKIM_DOMAIN to its selector and domain to "
            "check it; otherwise set up DKIM signing.",
        )
    name = f"{selector}._domainkey.{signing}"
    records = [r for r in txt(name, using) if "p=" in r.replace(" ", "")]
    key = _tags(records[0]).get("p", "") if records else ""
    if not key:
        return Check(
            "DKIM",
            False,
            records[0] if records else "",
            f"Missing: no DKIM public key at {name} (the selector Engage signs with). Publish "
            "the public key of DKIM_PRIVATE_KEY_PATH there as a TXT record "
            '"v=DKIM1; k=rsa; p=<key>".',
        )
    if not _aligned(signing, domain):
        return Check(
            "DKIM",
            False,
            records[0],
            f"Not aligned: mail is signed for {signing}, but it comes from {domain}. DMARC "
            "needs the signing domain to be the From domain (or share its organisational "
            "domain).",
        )
    return Check("DKIM", True, records[0], f"Messages are signed for {signing} ({name}).")


def dmarc(domain: str, using) -> Check:
    for name in (f"_dmarc.{domain}", f"_dmarc.{_organisational(domain)}"):
        records = [r for r in txt(name, using) if r.lower().startswith("v=dmarc1")]
        if records:
            break
    if len(records) != 1 or "p" not in _tags(records[0]):
        return Check(
            "DMARC",
            False,
            " | ".join(records),
            f"Missing: no DMARC policy at _dmarc.{domain}. Add a TXT record there, at least "
            '"v=DMARC1; p=none; rua=mailto:<an address that reads reports>".',
        )
    policy = _tags(records[0])["p"]
    return Check("DMARC", True, records[0], f"{domain} has a DMARC policy (p={policy}).")


def one_click() -> Check:
    # Every campaign message carries List-Unsubscribe and List-Unsubscribe-Post (messages.py);
    # Gmail honours them only with an https unsubscribe address.
    if settings.SITE_URL.startswith("https://"):
        return Check(
            "One-click unsubscribe",
            True,
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            f"Every campaign message has a one-click unsubscribe link to {settings.SITE_URL}.",
        )
    return Check(
        "One-click unsubscribe",
        False,
        "",
        f"The unsubscribe link goes to {settings.SITE_URL}: mailbox providers honour one-click "
        "unsubscribe only over https. Set SITE_URL to the site's public https:// address.",
    )


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            tags[name.strip().lower()] = value.strip().replace(" ", "")
    return tags


def _organisational(domain: str) -> str:
    # An approximation without the public suffix list: the last two labels. Under a two-label
    # suffix (example.org.uk) it is too short, which is why the exact domain is tried first.
    return ".".join(domain.split(".")[-2:])


def _aligned(signing: str, domain: str) -> bool:
    return _organisational(signing) == _organisational(domain)
