"""The charity's identity in every email: who it is from, the organisation and its postal address.

The embedded defaults name a demo charity, so that `make run` works on a fresh clone. Production
(DEBUG off) must not send as it: `manage.py check` (so `migrate` and `check --deploy`), the web
process and every Celery process refuse to start while one of these is unset or still a demo value.
"""

from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEMO_DOMAIN = "engage.example.org"
DEMO_FROM_EMAIL = f"Engage <news@{DEMO_DOMAIN}>"
DEMO_NAME = "Engage Health Charity"
DEMO_ADDRESS = "Engage Health Charity, 1 Example Street, London EC1A 1AA, UK"

HINTS = {
    "DEFAULT_FROM_EMAIL": "the charity's sender, e.g. “Brain Trust <news@braintrust.org.uk>”",
    "ORGANISATION_NAME": "the charity's name as readers know it",
    "ORGANISATION_ADDRESS": "the charity's postal address, shown in every email's footer",
    "UNSUBSCRIBE_MAILTO": "a mailbox of the charity's own (unset: unsubscribe@ the From domain)",
}


def domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].lower()


def _is_demo(name: str, value: str) -> bool:
    value = value.strip()
    if not value:
        return True
    if name in ("DEFAULT_FROM_EMAIL", "UNSUBSCRIBE_MAILTO"):
        return domain_of(value) in ("", DEMO_DOMAIN)
    if name == "ORGANISATION_NAME":
        return value == DEMO_NAME
    return value == DEMO_ADDRESS or "1 Example Street" in value


def problems() -> list[tuple[str, str]]:
    """(variable, message) for each part of the identity that is unset or still the demo's."""
    found = []
    for name, hint in HINTS.items():
        value = getattr(settings, name)
        if _is_demo(name, value):
            shown = f"“{value}”" if value.strip() else "empty"
            found.append((name, f"{name} is the demo charity's ({shown}): set it to {hint}."))
    return found


def require() -> None:
    """Refuse to start a production process (DEBUG off) that would send as the demo charity."""
    if settings.DEBUG:
        return
    found = problems()
    if found:
        raise ImproperlyConfigured(
            "Engage will not send as the demo charity with DEBUG off. "
            + " ".join(message for _, message in found)
        )
