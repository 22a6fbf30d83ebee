"""`manage.py check --deploy`: what a production deployment must set beyond Django's own checks.

Each default below makes a fresh clone run on one machine; in production each one quietly does the
wrong thing (emails written to files, links pointing at 127.0.0.1), so the deploy check names it.
"""

from django.conf import settings
from django.core import checks

from engage import identity

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "testserver"}


@checks.register(checks.Tags.security, deploy=True)
def production_settings(app_configs, **kwargs):
    problems = []

    def warn(code: str, message: str, hint: str) -> None:
        problems.append(checks.Warning(message, hint=hint, id=f"engage.{code}"))

    if not settings.SITE_URL.startswith("https://"):
        warn(
            "W001",
            f"SITE_URL is {settings.SITE_URL}: links in emails would point there over plain HTTP.",
            "Set SITE_URL to the site's public https:// address.",
        )
    if set(settings.ALLOWED_HOSTS) <= LOCAL_HOSTS:
        warn(
            "W002",
            "ALLOWED_HOSTS names only this machine: requests for the public host get a 400.",
            "Set ALLOWED_HOSTS to the public host name(s), comma-separated.",
        )
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        warn(
            "W003",
            "DATABASE_URL is not set: the database is a SQLite file under var/.",
            "Set DATABASE_URL, e.g. postgres://user:password@host/engage.",
        )
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        warn(
            "W004",
            "CELERY_BROKER_URL is not set: tasks go through files under var/, one machine only.",
            "Set CELERY_BROKER_URL, e.g. redis://host:6379/0.",
        )
    if settings.MAILERS["default"]["BACKEND"] == "newsletter.mail.outbox.OutboxBackend":
        warn(
            "W005",
            "Neither EMAIL_URL nor ESP is set: emails are written to files in var/outbox/.",
            "Set EMAIL_URL (smtp+tls://user:password@relay:587) or ESP with its ANYMAIL_* keys.",
        )
    return problems


@checks.register("sender_authentication", deploy=True)
def sender_authentication(app_configs, **kwargs):
    """What Gmail, Yahoo and Outlook.com require of the From domain's DNS (SPF, DKIM, DMARC) and of
    every message (one-click unsubscribe), looked up now: each missing one is a warning."""
    from newsletter.mail import sender_auth

    domain = sender_auth.from_domain()
    if sender_auth.is_example(domain):
        return []  # the demo's address: no one can publish records for it, nothing to look up
    return [
        checks.Warning(
            f"{check.name} for {domain}: {check.advice}",
            hint=f"Required by {', '.join(check.required_by)} for bulk senders.",
            id="engage.W020",
        )
        for check in sender_auth.checks(domain)
        if not check.ok
    ]


@checks.register(checks.Tags.security)
def charity_identity(app_configs, **kwargs):
    """Not only with --deploy: `migrate` and `check` refuse too, so a release stops before it
    sends a single email as the demo charity."""
    if settings.DEBUG:
        return []
    codes = {name: f"engage.E00{number}" for number, name in enumerate(identity.HINTS, start=1)}
    return [
        checks.Error(message, hint=f"Set {name} in the environment.", id=codes[name])
        for name, message in identity.problems()
    ]
