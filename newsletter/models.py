from datetime import timedelta

from django.conf import settings
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
    URLValidator,
)
from django.db import models
from django.db.models import Q


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Topic(models.Model):
    """What a subscriber can choose. The four standard ones are seeded by a data migration."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Subscriber(TimeStamped):
    class Status(models.TextChoices):
        PENDING = "pending"
        ACTIVE = "active"
        UNSUBSCRIBED = "unsubscribed"
        BOUNCED = "bounced"
        COMPLAINED = "complained"

    # Stored normalised (see newsletter.addresses.normalise_email), so a plain unique index is a
    # case-insensitive one.
    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=Status, default=Status.PENDING)
    topics = models.ManyToManyField(Topic, blank=True, related_name="subscribers")
    # Asked at signup, unticked: which health articles a person opens is itself health data.
    allow_tracking = models.BooleanField(
        default=False, help_text="Opens and clicks may be recorded (only for campaigns that track)."
    )

    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)
    soft_bounces = models.PositiveSmallIntegerField(default=0)

    # Fewer emails, chosen in the preference centre: digests only, or nothing until a date.
    digest_only = models.BooleanField(
        default=False, help_text="Gets digests, not one-off campaigns."
    )
    paused_until = models.DateField(
        null=True, blank=True, help_text="Left out of campaigns before this date."
    )

    # The reader's IANA zone (from the join form's browser, or the preference centre); blank means
    # the organisation's (settings.TIME_ZONE). Local-time sending and series steps use it.
    time_zone = models.CharField(max_length=64, blank=True)

    class LeavingReason(models.TextChoices):
        TOO_MANY = "too-many", "Too many emails"
        NOT_RELEVANT = "not-relevant", "The emails are not relevant to me"
        NEVER_SIGNED_UP = "never-signed-up", "I never signed up"
        OTHER = "other", "Another reason"

    # Optional, given when unsubscribing from the preference centre.
    leaving_reason = models.CharField(max_length=20, choices=LeavingReason, blank=True)
    leaving_comment = models.TextField(max_length=1000, blank=True)

    class LawfulBasis(models.TextChoices):
        CONSENT = "consent"
        # PECR reg. 22 as amended by the Data (Use and Access) Act 2025, s. 114.
        CHARITY_SOFT_OPT_IN = "charity-soft-opt-in", "charity soft opt-in"

    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis, default=LawfulBasis.CONSENT)
    lawful_basis_evidence = models.TextField(
        blank=True, help_text="How the basis was established: the confirmation, or the import's."
    )

    # The consent record: what the person agreed to, where and when (for the soft opt-in: when
    # and where the contact details were collected).
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_source = models.CharField(max_length=200, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_user_agent = models.CharField(max_length=400, blank=True)
    consent_version = models.CharField(max_length=40, blank=True)

    class Meta:
        permissions = [("export_subscribers", "Can export subscribers' addresses")]
        indexes = [
            # The audience query: active subscribers, streamed in primary-key order.
            models.Index(fields=["id"], name="subscriber_active_idx", condition=Q(status="active")),
            models.Index(fields=["status", "created_at"], name="subscriber_status_created_idx"),
        ]

    def __str__(self):
        return self.email


class ConsentWording(models.Model):
    """The words a person agreed to, by version: every subscriber's consent record names one, so
    a version is never changed or deleted once used. A new wording is a new row (and
    CONSENT_VERSION)."""

    version = models.CharField(max_length=40, unique=True)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.version


class SignupRequest(models.Model):
    """One signup as it was asked for, stored before the answer. The subscriber's record takes its
    details only when the owner of the address confirms it (newsletter.signups)."""

    email = models.CharField(max_length=254)  # normalised
    first_name = models.CharField(max_length=100, blank=True)
    topics = models.JSONField(null=True, blank=True, help_text="Topic slugs; empty: every topic.")
    allow_tracking = models.BooleanField(default=False)
    source = models.CharField(max_length=200)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    consent_version = models.CharField(max_length=40)
    # The browser's IANA zone from the join form, already checked (blank: the organisation's).
    time_zone = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The daily cap: confirmations sent to one address in the last day.
            models.Index(fields=["email", "confirmation_sent_at"], name="signup_email_sent_idx"),
            # Retention: requests older than their links.
            models.Index(fields=["created_at"], name="signup_created_idx"),
        ]

    def __str__(self):
        return f"signup {self.pk}"


class Suppression(models.Model):
    """The one list of addresses never to mail again, kept as a keyed hash (it outlives an
    erasure; newsletter.addresses.suppression_hash). newsletter.policy writes and reads it: one
    row per address, with the strongest reason."""

    class Reason(models.TextChoices):
        # Strongest first: a fresh, confirmed signup lifts only the last two.
        COMPLAINED = "complained"
        BOUNCED = "bounced"
        UNSUBSCRIBED = "unsubscribed", "unsubscribed by mail"
        ERASED = "erased"

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=40, choices=Reason)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.email_hash[:12]}… ({self.reason})"


class Post(TimeStamped):
    class Kind(models.TextChoices):
        NEWS = "news"
        EVENT = "event"
        EDUCATION = "education"
        GET_INVOLVED = "get-involved", "Get involved"

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"

    kind = models.CharField(max_length=20, choices=Kind, default=Kind.NEWS)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    summary = models.TextField(max_length=600, blank=True)
    body = models.TextField(blank=True, help_text="Markdown. Raw HTML is sanitised.")
    url = models.URLField(blank=True, help_text="Canonical address of the post on the site.")
    image_url = models.URLField(blank=True)
    image_alt = models.CharField(max_length=200, blank=True)
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="posts")
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)

    # Events only.
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="Europe/London")
    location = models.CharField(max_length=200, blank=True)
    registration_url = models.URLField(blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            # Digest selection: published posts of some topics since a moment.
            models.Index(fields=["topic", "published_at"], name="post_topic_published_idx"),
        ]

    def __str__(self):
        return self.title


class Reference(models.Model):
    """A numbered citation of an educational post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="references")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=300)
    publisher = models.CharField(max_length=200, blank=True)
    url = models.URLField(blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.title


class DigestSchedule(TimeStamped):
    """A recurring digest, e.g. every Monday 09:00 Europe/London for news, events and education."""

    class Weekday(models.IntegerChoices):
        MONDAY = 1
        TUESDAY = 2
        WEDNESDAY = 3
        THURSDAY = 4
        FRIDAY = 5
        SATURDAY = 6
        SUNDAY = 0

    name = models.CharField(max_length=120)
    topics = models.ManyToManyField(Topic, related_name="digest_schedules")
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday, null=True, blank=True, help_text="Empty: every day."
    )
    time_of_day = models.TimeField()
    timezone = models.CharField(max_length=64, default="Europe/London")
    subject = models.CharField(max_length=200, help_text="May use {date}.")
    intro = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=300, blank=True)
    # Each run's digest goes at time_of_day in each reader's own zone (waves), not at one moment.
    in_reader_zones = models.BooleanField(
        default=False, help_text="Send at this time of day in each reader's own time zone."
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["next_run_at"], name="digest_due_idx", condition=Q(is_active=True)
            ),
        ]

    def __str__(self):
        return self.name


# What a campaign opens with unless staff change it ({first_name}: the reader's, or "friend").
DEFAULT_GREETING = "Dear {first_name},"


class Campaign(TimeStamped):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        SENDING = "sending"
        PAUSED = "paused"
        SENT = "sent"
        CANCELLED = "cancelled"

    # The one table of legal moves; newsletter.campaigns.transition() enforces it.
    TRANSITIONS = {
        Status.DRAFT: {Status.SCHEDULED, Status.CANCELLED},
        Status.SCHEDULED: {Status.DRAFT, Status.SENDING, Status.CANCELLED},
        Status.SENDING: {Status.PAUSED, Status.SENT, Status.CANCELLED},
        Status.PAUSED: {Status.SENDING, Status.CANCELLED},
        Status.SENT: set(),
        Status.CANCELLED: set(),
    }

    subject = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True, help_text="Its address in the archive.")
    preheader = models.CharField(max_length=200, blank=True)
    intro = models.TextField(blank=True, help_text="Markdown, shown above the posts.")
    greeting = models.CharField(
        max_length=200,
        blank=True,
        default=DEFAULT_GREETING,
        help_text=(
            "The line the email opens with. {first_name} becomes each reader's first name, or "
            "“friend” when we do not know it. Leave empty for no greeting."
        ),
    )
    posts = models.ManyToManyField(Post, through="CampaignPost", related_name="campaigns")
    topics = models.ManyToManyField(
        Topic, related_name="campaigns", help_text="Audience: subscribers to any of these topics."
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    digest_schedule = models.ForeignKey(
        DigestSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    # Composed by "compose a digest" (by hand or by a schedule): the next digest of the same
    # topics starts where it stopped.
    is_digest = models.BooleanField(default=False)
    # Why the system moved it to its current status (e.g. sent back to draft at the start).
    status_reason = models.CharField(max_length=500, blank=True)
    track_opens = models.BooleanField(default=False)
    track_clicks = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    started_at = models.DateTimeField(null=True, blank=True)
    # Set when the Delivery ledger is complete: until then "nothing queued" does not mean "done".
    prepared_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper last queued a lost preparation again (started_at stays the real start).
    prepare_requeued_at = models.DateTimeField(null=True, blank=True)
    # Set while the mail server itself is failing (no connection, 421, TLS): what admin shows as
    # "waiting for the mail server since …". Cleared by the next message it accepts.
    relay_down_since = models.DateTimeField(null=True, blank=True)
    relay_error = models.CharField(max_length=500, blank=True)
    # Why the pipeline paused the campaign by itself (e.g. it cannot be rendered).
    pause_reason = models.TextField(blank=True)
    # Filled when the campaign ends; while it sends, counts come from the Delivery ledger.
    recipients_count = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    bounced_count = models.PositiveIntegerField(default=0)
    # Local-time sending: at local_time on local_date in each reader's zone (both set), in waves
    # (newsletter.delivery.waves); scheduled_at is then the first wave's moment.
    local_date = models.DateField(null=True, blank=True)
    local_time = models.TimeField(null=True, blank=True)

    # An A/B subject test (newsletter.abtest): with a test share, that share of the audience gets
    # the variants (CampaignVariant) first, and the rest gets the winner.
    class WinnerBy(models.TextChoices):
        STAFF = "staff", "Staff choose"
        CLICKS = "clicks", "Automatically, by click rate"

    test_share = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Per cent of the audience (1–50) that gets the variants first. Empty: no test.",
    )
    test_wait = models.DurationField(
        default=timedelta(hours=4), help_text="How long the test runs before the winner is picked."
    )
    winner_by = models.CharField(max_length=10, choices=WinnerBy, default=WinnerBy.STAFF)
    winner = models.CharField(max_length=1, blank=True)
    # When the test share's rows were written (the rows created until then are the test's).
    test_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        permissions = [("send_campaign", "Can schedule, resume and send campaigns")]
        indexes = [
            # The beat tick: scheduled campaigns that are due.
            models.Index(
                fields=["scheduled_at"], name="campaign_due_idx", condition=Q(status="scheduled")
            ),
        ]

    def __str__(self):
        return self.subject


class Snapshot(models.Model):
    """What a sender approved when scheduling: taken on draft → scheduled, dropped on the way back
    to draft. Delivery, previews, test sends and the archive render from it, never from live
    posts, so editing a post afterwards changes nothing that goes out or was sent."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="snapshot")
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    intro = models.TextField(blank=True)
    # Snapshots taken before the greeting was editable greeted this way.
    greeting = models.CharField(max_length=200, blank=True, default=DEFAULT_GREETING)
    # The audience: [{"id": 1, "slug": "news"}, …]
    topics = models.JSONField(default=list)
    # The posts' rendered sections, in order: [{"topic_slug", "heading", "posts": [{"post_id",
    # "title", "link", "html", "text"}]}]; html and text are the email's fragments for the post.
    sections = models.JSONField(default=list)
    # Every post of the campaign when approved, in order (the start checks they are unchanged).
    post_ids = models.JSONField(default=list)
    # The charity's look when approved (newsletter.brand.frozen_brand); {} before brands existed.
    brand = models.JSONField(default=dict, blank=True)
    # An A/B test's subjects: [{"letter", "subject", "preheader"}], in letter order.
    variants = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"snapshot of {self.campaign_id}"

    @property
    def topic_ids(self) -> list[int]:
        return [topic["id"] for topic in self.topics]

    @property
    def topic_slugs(self) -> frozenset[str]:
        return frozenset(topic["slug"] for topic in self.topics)


class CampaignPost(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "post"], name="campaign_post_unique"),
        ]

    def __str__(self):
        return f"{self.position}. {self.post}"


class Delivery(models.Model):
    """The ledger: one row per (campaign, subscriber). The database, not Celery, records sends."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        BOUNCED = "bounced"
        SKIPPED = "skipped"  # nothing for this subscriber's topics, or they left before their turn

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    # Kept when the subscriber is erased, so a sent campaign's counts stay true.
    subscriber = models.ForeignKey(
        Subscriber, null=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The first time a message to this row was tried: transient failures retry until
    # DELIVERY_RETRY_HORIZON after it.
    first_attempt_at = models.DateTimeField(null=True, blank=True)

    # What the ESP and the reader did afterwards (webhooks, and tracking where allowed).
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    # The A/B test's variant (letter) this reader got; empty when the campaign has no test. A
    # database default, so the ledger's raw INSERT may leave it out.
    variant = models.CharField(max_length=1, blank=True, default="", db_default="")
    # The moment the row may go (a local-time campaign's wave), fixed when the ledger is written;
    # null: at once. ledger.claim refuses a row before it.
    send_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "subscriber"], name="delivery_campaign_subscriber_unique"
            ),
        ]
        indexes = [
            # Progress counts and "anything left?" per campaign.
            models.Index(fields=["campaign", "status"], name="delivery_campaign_status_idx"),
            # The sweeper: expired leases.
            models.Index(
                fields=["lease_expires_at"],
                name="delivery_lease_idx",
                condition=Q(status="sending"),
            ),
            # Webhooks find their delivery by Message-ID.
            models.Index(fields=["message_id"], name="delivery_message_id_idx"),
            # Local-time sending: a wave's rows (waves.queue_due_waves, wave_progress).
            models.Index(
                fields=["campaign", "send_after"],
                name="delivery_wave_idx",
                condition=Q(send_after__isnull=False),
            ),
            # Retention: errors (SMTP replies may quote the address) older than their period.
            models.Index(
                fields=["updated_at"], name="delivery_error_idx", condition=~Q(last_error="")
            ),
        ]

    def __str__(self):
        return f"{self.campaign_id}→{self.subscriber_id} {self.status}"


class Wave(models.Model):
    """The readers of a local-time campaign whose local hour falls at one moment (one or more
    zones), handed to the workers once, when it comes."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="waves")
    send_after = models.DateTimeField()
    zones = models.JSONField(default=list)
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["send_after"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "send_after"], name="wave_unique"),
        ]
        indexes = [
            # The beat tick: waves not handed out yet that are due.
            models.Index(fields=["send_after"], name="wave_due_idx", condition=Q(queued_at=None)),
        ]

    def __str__(self):
        return f"wave of {self.campaign_id} at {self.send_after:%Y-%m-%d %H:%M}"


class Click(models.Model):
    """A tracked click: recorded once per (delivery, url)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="clicks")
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    url = models.URLField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "url"], name="click_delivery_url_unique"),
        ]

    def __str__(self):
        return self.url


class WebhookEvent(models.Model):
    """An ESP event, stored once by its id: a replayed webhook finds it and changes nothing."""

    esp = models.CharField(max_length=40)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=40)
    message_id = models.CharField(max_length=255, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )

    class Meta:
        indexes = [
            # Retention: events older than RETENTION_WEBHOOK_EVENTS_DAYS.
            models.Index(fields=["received_at"], name="webhook_event_received_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["esp", "event_id"], name="webhook_event_unique"),
        ]

    def __str__(self):
        return f"{self.esp} {self.event_type} {self.event_id}"


class CampaignReport(Campaign):
    """A campaign's results in admin (newsletter.admin.reports): the same rows, another page."""

    class Meta:
        proxy = True
        verbose_name = "campaign report"


class AuditEvent(models.Model):
    """One thing a person did that the trail must show beyond model changes (django-auditlog
    records those): a sign-in, an export, a test send, a schedule, an erasure. Rows are only ever
    added: admin shows them read-only, and the actor's name is kept as text so deleting the
    account does not erase what it did."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.actor_name or 'system'} {self.action} {self.target}".strip()


# --- Engagement: RSVPs to events and "count me in" for ways to get involved ----------------------


class PostEngagement(TimeStamped):
    """What a post asks of its readers: RSVPs (events) or "count me in" (ways to get involved).

    A row of its own rather than fields on Post: the capacity check locks this row
    (select_for_update), so RSVPs never wait on an editor saving the post.
    """

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="engagement")
    takes_rsvps = models.BooleanField(default=False, help_text="Events: readers answer by email.")
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    rsvp_deadline = models.DateTimeField(
        null=True, blank=True, help_text="Empty: answers are taken until the event starts."
    )
    waitlist = models.BooleanField(default=True, help_text="When full, offer the waitlist.")
    count_me_in = models.BooleanField(
        default=False, help_text='Ways to get involved: a "Count me in" button.'
    )
    contact_email = models.EmailField(
        blank=True, help_text='Staff contact told of each "Count me in".'
    )

    class Meta:
        verbose_name = "RSVP and interest settings"
        verbose_name_plural = "RSVP and interest settings"

    def __str__(self):
        return f"Engagement for {self.post}"


class Rsvp(TimeStamped):
    """A reader's answer to an event: a subscriber's, or a visitor's who confirmed their address."""

    class Answer(models.TextChoices):
        YES = "yes"
        NO = "no"
        WAITLIST = "waitlist"
        UNCONFIRMED = "unconfirmed"  # a visitor who has not opened the confirmation link yet

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="rsvps")
    # Erased with the subscriber (rsvp.forget_subscriber frees their place first).
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.CASCADE, related_name="rsvps"
    )
    email = models.EmailField(blank=True, help_text="Visitors only (not subscribers).")
    name = models.CharField(max_length=100, blank=True)
    answer = models.CharField(max_length=12, choices=Answer)
    # What a visitor asked for before confirming, and whether they ticked to join the list.
    requested = models.CharField(max_length=12, choices=Answer, blank=True)
    wants_to_join = models.BooleanField(default=False)
    answered_at = models.DateTimeField(null=True, blank=True)
    # The waitlist's order: first come, first promoted.
    waitlisted_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)  # visitors (subscribers: the ledger)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["post", "subscriber"],
                condition=Q(subscriber__isnull=False),
                name="rsvp_post_subscriber_unique",
            ),
            models.UniqueConstraint(
                fields=["post", "email"],
                condition=Q(subscriber__isnull=True),
                name="rsvp_post_email_unique",
            ),
        ]
        indexes = [
            # Counts per event, the capacity check and the waitlist's head.
            models.Index(fields=["post", "answer", "waitlisted_at"], name="rsvp_post_answer_idx"),
        ]

    def __str__(self):
        return f"{self.address} → {self.post}: {self.answer}"

    @property
    def address(self) -> str:
        return self.subscriber.email if self.subscriber_id else self.email

    @property
    def display_name(self) -> str:
        return self.subscriber.first_name if self.subscriber_id else self.name


class Interest(models.Model):
    """A reader's "count me in" for a way to get involved, recorded once."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="interests")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="interests")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "subscriber"], name="interest_unique"),
        ]

    def __str__(self):
        return f"{self.subscriber_id} → {self.post}"


class EventReminder(models.Model):
    """The day-before reminder of an event: a system campaign whose audience is the "yes" list."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="reminder")
    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="event_reminder"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Reminder of {self.post}"


class EventAttendance(Post):
    """An event's answers in admin (newsletter.admin.events): the same rows, another page."""

    class Meta:
        proxy = True
        verbose_name = "event attendance"
        verbose_name_plural = "event attendance"


class InvolvementInterest(Post):
    """Who said "count me in" to a way to get involved, in admin."""

    class Meta:
        proxy = True
        verbose_name = "interested readers"
        verbose_name_plural = "interested readers"


class InboundMessage(models.Model):
    """One message that came back (a bounce report, a complaint, an unsubscribe request, an
    auto-reply, anything else), recorded once by the hash of its bytes, classified, and linked to
    its delivery by its VERP token when it carries one."""

    class Kind(models.TextChoices):
        HARD_BOUNCE = "hard_bounce"
        SOFT_BOUNCE = "soft_bounce"
        COMPLAINT = "complaint"
        UNSUBSCRIBE = "unsubscribe"
        AUTO_REPLY = "auto_reply"
        OTHER = "other"  # kept for staff
        REJECTED = "rejected"  # could not be read (too big, not a message)

    received_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=40)  # imap, pipe, or the ESP's name
    digest = models.CharField(max_length=64, unique=True)  # sha256 of the raw bytes
    message_id = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=12, choices=Kind)
    reason = models.TextField(blank=True)
    recipient = models.CharField(max_length=254, blank=True)  # the address the report names
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    size = models.PositiveIntegerField(default=0)
    # Deleted after INBOUND_RETENTION_DAYS; the classification stays.
    raw = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            # The admin list, newest first, filtered by kind.
            models.Index(fields=["kind", "received_at"], name="inbound_kind_received_idx"),
            # Retention: rows still holding their bytes, oldest first.
            models.Index(
                fields=["received_at"], name="inbound_raw_idx", condition=Q(raw__isnull=False)
            ),
            # Inbound message IDs are not unique (a replay with new Received lines), only a hint.
            models.Index(fields=["message_id"], name="inbound_message_id_idx"),
        ]
        permissions = [("view_inbound_raw", "Can read the raw bytes of inbound messages")]

    def __str__(self):
        return f"{self.kind} {self.received_at:%Y-%m-%d %H:%M}"


# Links readers follow from an email: a web page, never javascript:, data: or ftp:.
WEB_URL = URLValidator(schemes=["http", "https"])
HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}\Z", "Give the colour as # and six hex digits.")


class BrandLogo(models.Model):
    """An uploaded logo, kept by its SHA-256 for good: emails already sent keep showing theirs."""

    digest = models.CharField(max_length=64, primary_key=True)
    content_type = models.CharField(max_length=40)
    data = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"logo {self.digest[:12]} ({self.width}×{self.height})"


class Brand(models.Model):
    """The charity's look, one row (pk 1): emails, public pages and the admin header use it.
    A blank field falls back to the settings (ORGANISATION_NAME, …), so nothing needs a row."""

    organisation_name = models.CharField(
        max_length=120, blank=True, help_text="Blank: the ORGANISATION_NAME setting."
    )
    logo = models.ForeignKey(BrandLogo, null=True, blank=True, on_delete=models.PROTECT)
    colour = models.CharField(
        max_length=7,
        blank=True,
        validators=[HEX_COLOUR],
        help_text="As #rrggbb. Text on it is white or black, whichever reads best.",
    )
    donate_url = models.URLField("donate page", blank=True, validators=[WEB_URL])
    donate_label = models.CharField(
        "donate button says", max_length=40, blank=True, help_text="Blank: “Donate”."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "brand"
        verbose_name_plural = "brand"

    def __str__(self):
        return "The charity's look"


class BrandLink(models.Model):
    """A link in every email's and page's footer (about us, privacy, contact…)."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="links")
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=60)
    url = models.URLField("URL", validators=[WEB_URL])

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "footer link"

    def __str__(self):
        return self.label


class Image(models.Model):
    """An image staff uploaded for a post or a campaign intro: resized for email and re-encoded
    without its metadata by newsletter.images, served from MEDIA_URL."""

    file = models.ImageField(upload_to="images/%Y/%m/", width_field="width", height_field="height")
    alt = models.CharField(
        "alt text",
        max_length=200,
        help_text="What the image shows, for people who cannot see it (or have images off).",
    )
    width = models.PositiveIntegerField(editable=False, default=0)
    height = models.PositiveIntegerField(editable=False, default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.alt} ({self.width}×{self.height})"


class CampaignVariant(models.Model):
    """One subject (and preheader) of a campaign's A/B test (newsletter.abtest)."""

    class Letter(models.TextChoices):
        A = "A"
        B = "B"
        C = "C"
        D = "D"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    letter = models.CharField(max_length=1, choices=Letter)
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["letter"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "letter"], name="campaign_variant_unique"),
        ]

    def __str__(self):
        return f"{self.letter}: {self.subject}"


# --- Importing subscribers from a CSV file (newsletter.imports) -----------------------------------


class SubscriberImport(TimeStamped):
    """One CSV upload on its way in: the file's text until it is imported (or a day has passed:
    newsletter.retention), the columns chosen, the dry run staff saw, and the import's progress
    and outcome, which stay. Addresses appear only in `data`."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded"  # columns to be mapped
        CHECKED = "checked"  # dry run shown, waiting for "Import"
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=200, blank=True)
    data = models.TextField(blank=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status, default=Status.UPLOADED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    dry_run = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Reached through the subscriber admin; importing needs newsletter.add_subscriber.
        default_permissions = ()

    def __str__(self):
        return f"import #{self.pk} ({self.status})"


# --- Series: automations such as the welcome series (newsletter.series) ------------------------


class Series(TimeStamped):
    """An automation: ordered steps, each an email sent a delay after the one before, to every
    subscriber its trigger enrols, once each."""

    class Status(models.TextChoices):
        DRAFT = "draft"  # being written: steps may change, nobody is enrolled
        ACTIVE = "active"  # approved (frozen) and running
        PAUSED = "paused"  # enrols, but due steps wait

    class Trigger(models.TextChoices):
        CONFIRMED = "confirmed", "A subscriber confirmed"
        TOPIC_ADDED = "topic-added", "A subscriber added a topic"

    name = models.CharField(max_length=120)
    trigger = models.CharField(max_length=20, choices=Trigger, default=Trigger.CONFIRMED)
    topic = models.ForeignKey(
        Topic,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="series",
        help_text="For “a subscriber added a topic”: which topic.",
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    track_opens = models.BooleanField(default=False)
    track_clicks = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "series"
        constraints = [
            models.CheckConstraint(
                condition=Q(trigger="confirmed", topic=None)
                | Q(trigger="topic-added", topic__isnull=False),
                name="series_topic_matches_trigger",
            ),
        ]

    def __str__(self):
        return self.name


class SeriesStep(TimeStamped):
    """One email of a series. Its content is sent through a system campaign of its own (made and
    frozen when the series is activated), so the ledger holds one row per step and subscriber."""

    class Unit(models.TextChoices):
        MINUTES = "minutes"
        HOURS = "hours"
        DAYS = "days"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, help_text="Markdown, shown above the posts.")
    posts = models.ManyToManyField(Post, blank=True, related_name="+")
    delay = models.PositiveIntegerField(
        default=0, help_text="After the step before (or the trigger); 0: at once."
    )
    delay_unit = models.CharField(max_length=10, choices=Unit, default=Unit.DAYS)
    at_time = models.TimeField(
        null=True, blank=True, help_text="Optional: then at this time of day in the reader's zone."
    )
    campaign = models.OneToOneField(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="series_step"
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.position}. {self.subject}"


class Enrolment(TimeStamped):
    """A subscriber's way through a series: enrolled once, ever (re-joining does not restart it)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        FINISHED = "finished"
        STOPPED = "stopped"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="enrolments")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE)
    next_step = models.ForeignKey(
        SeriesStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_at = models.DateTimeField(null=True, blank=True)
    stopped_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "subscriber"], name="enrolment_unique"),
        ]
        indexes = [
            # The series tick: active enrolments that are due.
            models.Index(
                fields=["next_at"], name="enrolment_due_idx", condition=Q(status="active")
            ),
        ]

    def __str__(self):
        return f"{self.subscriber_id} in {self.series_id}: {self.status}"
