"""Load the demo (posts, subscribers, a weekly digest, a welcome series, a staff login) so
`make run` shows a digest, and the welcome emails once a signup is confirmed.

Idempotent: rows are looked up by their natural keys and only missing ones are created; nothing
that exists is changed, so a second run (every `make run`) leaves the data as it is.
"""

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.templatetags.static import static
from django.utils import timezone

from newsletter import series
from newsletter.content import brand, demo_content
from newsletter.models import (
    Brand,
    DigestSchedule,
    Post,
    Reference,
    Series,
    SeriesStep,
    Subscriber,
    Topic,
)
from newsletter.subscribers import tokens
from newsletter.subscribers.addresses import normalise_email
from newsletter.web import joinpage

STAFF_USERNAME = "staff"
STAFF_EMAIL = "staff@engage.example.org"
# The first digest is due this soon after the first seeding, so the beat tick (every minute)
# composes and sends one within about two minutes of `make run`.
FIRST_DIGEST_DELAY = timedelta(minutes=1)


class Command(BaseCommand):
    help = "Load demo posts, subscribers, a weekly digest and a staff login (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password-file",
            type=Path,
            default=None,
            help="Where the staff password is kept (default: var/staff-password.txt).",
        )

    def handle(self, *args, password_file: Path | None = None, **options):
        password_file = password_file or settings.VAR_DIR / "staff-password.txt"
        now = timezone.now()
        with transaction.atomic():
            topics = _topics()
            posts = sum(_seed_post(spec, topics=topics, now=now) for spec in demo_content.POSTS)
            subscribers = sum(
                _seed_subscriber(spec, topics=topics, joined=now - timedelta(days=40 - 3 * i))
                for i, spec in enumerate(demo_content.SUBSCRIBERS)
            )
            schedule, schedule_created = _seed_schedule(topics=topics, now=now)
            welcome = _seed_welcome_series()
            _seed_brand()
        password = _seed_staff(password_file)

        if posts or subscribers or schedule_created:
            self.stdout.write(
                f"Created {posts} posts, {subscribers} subscribers"
                + (", and the weekly digest schedule." if schedule_created else ".")
            )
        else:
            self.stdout.write("Demo data already present: nothing changed.")
        self.stdout.write(
            f"{welcome.name}: {welcome.steps.count()} steps, {welcome.status}, sent to each "
            "signup once confirmed."
        )
        if schedule.next_run_at:
            when = timezone.localtime(schedule.next_run_at, ZoneInfo(schedule.timezone))
            self.stdout.write(
                f"Next digest ({schedule.name}): {when:%a %d %b %Y %H:%M} {schedule.timezone}."
            )

        self.stdout.write(self.style.SUCCESS("\nEngage demo is ready."))
        self.stdout.write(self.style.SUCCESS(f"  Join page: {settings.SITE_URL}/join/"))
        self.stdout.write(self.style.SUCCESS(f"  Admin:     {settings.SITE_URL}/admin/"))
        if password:
            self.stdout.write(
                self.style.SUCCESS(f"             username {STAFF_USERNAME}, password {password}")
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"             username {STAFF_USERNAME}; it existed already with another "
                    f"password (set one with: manage.py changepassword {STAFF_USERNAME})"
                )
            )
        self.stdout.write(self.style.SUCCESS(f"  {_where_emails_land()}"))


def _topics() -> dict[str, Topic]:
    topics = {topic.slug: topic for topic in Topic.objects.all()}
    wanted = {spec["topic"] for spec in demo_content.POSTS} | set(
        demo_content.DIGEST_SCHEDULE["topics"]
    )
    missing = wanted - topics.keys()
    if missing:
        raise CommandError(
            f"Topics missing: {', '.join(sorted(missing))}. Run `manage.py migrate` first."
        )
    return topics


def _seed_post(spec: dict, *, topics: dict[str, Topic], now: datetime) -> bool:
    fields = {
        "kind": spec["kind"],
        "title": spec["title"],
        "summary": spec["summary"],
        "body": spec["body"],
        "url": spec["url"],
        "image_url": _demo_image_url(spec["image"]),
        "image_alt": spec["image_alt"],
        "topic": topics[spec["topic"]],
        "status": Post.Status.PUBLISHED,
        "published_at": now - spec["published_ago"],
    }
    if "starts_in_days" in spec:
        zone = ZoneInfo(spec["timezone"])
        day = timezone.localdate(now, zone) + timedelta(days=spec["starts_in_days"])
        fields |= {
            "starts_at": datetime.combine(day, spec["starts_at_local"], tzinfo=zone),
            "ends_at": datetime.combine(day, spec["ends_at_local"], tzinfo=zone),
            "timezone": spec["timezone"],
            "location": spec["location"],
            "registration_url": spec["registration_url"],
        }
    post, created = Post.objects.get_or_create(slug=spec["slug"], defaults=fields)
    for position, reference in enumerate(spec.get("references", []), start=1):
        Reference.objects.get_or_create(post=post, position=position, defaults=reference)
    return created


def _demo_image_url(name: str) -> str:
    """A picture the demo ships in static/demo/, by the absolute URL emails need."""
    return tokens.absolute_url(static(name)) if name else ""


def _seed_brand() -> None:
    """The demo's logo, donate button and footer links, unless a brand was set already."""
    if Brand.objects.exists():
        return
    spec = demo_content.BRAND
    logo_file = finders.find(spec["logo"])
    made = Brand.objects.create(
        pk=1,
        logo=brand.store_logo(Path(logo_file).read_bytes()),
        donate_url=spec["donate_url"],
        donate_label=spec["donate_label"],
    )
    for position, (label, url) in enumerate(spec["links"], start=1):
        made.links.create(position=position, label=label, url=url)
    brand.forget()
    joinpage.forget()


def _seed_subscriber(spec: dict, *, topics: dict[str, Topic], joined: datetime) -> bool:
    subscriber, created = Subscriber.objects.get_or_create(
        email=normalise_email(spec["email"]),
        defaults={
            "first_name": spec["first_name"],
            "status": Subscriber.Status.ACTIVE,
            "consent_at": joined,
            "consent_source": "demo-seed",
            "consent_ip": "127.0.0.1",
            "consent_user_agent": "manage.py seed_demo",
            "consent_version": settings.CONSENT_VERSION,
            "confirmation_sent_at": joined,
            "confirmed_at": joined + timedelta(minutes=5),
        },
    )
    if created:
        subscriber.topics.set([topics[slug] for slug in spec["topics"]])
    return created


def _seed_schedule(*, topics: dict[str, Topic], now: datetime) -> tuple[DigestSchedule, bool]:
    spec = demo_content.DIGEST_SCHEDULE
    schedule, created = DigestSchedule.objects.get_or_create(
        name=spec["name"],
        defaults={
            "weekday": DigestSchedule.Weekday[spec["weekday"]],
            "time_of_day": spec["time_of_day"],
            "timezone": spec["timezone"],
            "subject": spec["subject"],
            "intro": spec["intro"],
            "is_active": True,
            # Only on first seeding: later runs must not move a schedule the digest has advanced.
            "next_run_at": now + FIRST_DIGEST_DELAY,
        },
    )
    if created:
        schedule.topics.set([topics[slug] for slug in spec["topics"]])
    return schedule, created


def _seed_welcome_series() -> Series:
    """The welcome series, active (activated as the demo's: a real one needs a sender)."""
    spec = demo_content.WELCOME_SERIES
    welcome, created = Series.objects.get_or_create(
        name=spec["name"], defaults={"trigger": Series.Trigger.CONFIRMED}
    )
    if created:
        for position, step in enumerate(spec["steps"], start=1):
            made = SeriesStep.objects.create(
                series=welcome,
                position=position,
                subject=step["subject"],
                preheader=step["preheader"],
                body=step["body"],
                delay=step["delay_minutes"],
                delay_unit=SeriesStep.Unit.MINUTES,
            )
            made.posts.set(Post.objects.filter(slug__in=step["posts"]))
        series.series_activate(series=welcome)
        welcome.refresh_from_db()
    return welcome


def _seed_staff(password_file: Path) -> str | None:
    """The staff superuser's password, kept in a file so every run prints the same one.

    None when the user already exists with a password this file does not hold (someone changed
    it): that password is left alone.
    """
    User = get_user_model()
    password = password_file.read_text().strip() if password_file.exists() else ""
    user = User.objects.filter(username=STAFF_USERNAME).first()
    if user is not None:
        return password if password and user.check_password(password) else None
    if not password:
        password = secrets.token_urlsafe(12)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.touch(mode=0o600)
        password_file.write_text(password + "\n")
    User.objects.create_superuser(STAFF_USERNAME, STAFF_EMAIL, password)
    return password


def _where_emails_land() -> str:
    mailer = settings.MAILERS["default"]
    if mailer["BACKEND"] == "newsletter.mail.outbox.OutboxBackend":
        outbox = Path(mailer["OPTIONS"]["file_path"])
        if outbox.is_relative_to(settings.BASE_DIR):
            outbox = outbox.relative_to(settings.BASE_DIR)
        return f"Emails land in {outbox}/ (open the .eml files)."
    return f"Emails go out through {mailer['BACKEND']} (EMAIL_URL / ESP)."
