"""Subscribers and their consent: topics, signups, the suppression list, imports."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from newsletter.models.base import TimeStamped


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

    # Stored normalised (see newsletter.subscribers.addresses.normalise_email), so a plain unique
    # index is a case-insensitive one.
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

    # How the reader reads (newsletter.mail.access): chosen at signup or in the preference centre,
    # honoured by every email.
    plain_text_only = models.BooleanField(
        default=False, help_text="Gets the text part alone, no HTML."
    )
    larger_text = models.BooleanField(
        default=False, help_text="HTML with text of 20 px and buttons of 48 px at least."
    )
    no_images = models.BooleanField(default=False, help_text="HTML without images.")

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
            # The API's sync (GET /api/v1/subscribers/?updated_since=…): keyset on (updated_at, id).
            models.Index(fields=["updated_at", "id"], name="subscriber_updated_idx"),
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
    details only when the owner of the address confirms it (newsletter.subscribers.signups)."""

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
    # Access preferences chosen on the join form (names of newsletter.mail.access.FIELDS).
    access = models.JSONField(default=list, blank=True)
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
    erasure; newsletter.subscribers.addresses.suppression_hash). newsletter.subscribers.policy
    writes and reads it: one row per address, with the strongest reason."""

    class Reason(models.TextChoices):
        # Strongest first: a fresh, confirmed signup lifts only the last two.
        COMPLAINED = "complained"
        BOUNCED = "bounced"
        UNSUBSCRIBED = "unsubscribed", "unsubscribed by mail"
        # Asked elsewhere: a Fundraising Preference Service request, a CRM's "do not email" (API).
        REQUESTED = "requested", "asked elsewhere (e.g. FPS, a CRM's do not email)"
        ERASED = "erased"

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=40, choices=Reason)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.email_hash[:12]}… ({self.reason})"


# --- Importing subscribers from a CSV file (newsletter.subscribers.imports) -------------------


class SubscriberImport(TimeStamped):
    """One CSV upload on its way in: the file's text until it is imported (or a day has passed:
    newsletter.subscribers.retention), the columns chosen, the dry run staff saw, and the import's
    progress and outcome, which stay. Addresses appear only in `data`."""

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
    # Consent stated for the whole file on the columns page ("these people consented on … via
    # …"): it fills what a row leaves out (newsletter.subscribers.import_file.consent_record).
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_via = models.CharField(max_length=500, blank=True)
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
