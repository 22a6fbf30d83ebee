"""What readers do after a send: clicks, RSVPs, interest, event reminders, post engagement."""

from django.db import models
from django.db.models import Q

from newsletter.models.base import TimeStamped
from newsletter.models.campaigns import Campaign
from newsletter.models.content import Post
from newsletter.models.delivery import Delivery
from newsletter.models.subscribers import Subscriber


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


# --- Engagement: RSVPs to events and "count me in" for ways to get involved ----------------------


class PostEngagement(TimeStamped):
    """What a post asks of its readers: RSVPs (events) or "count me in" (ways to get involved).

    A row of its own rather than fields on Post: the capacity check locks this row
    (select_for_update), so RSVPs never wait on an editor saving the post.
    """

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="engagement")
    takes_rsvps = models.BooleanField(
        "takes RSVPs", default=False, help_text="Events: readers answer by email."
    )
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    rsvp_deadline = models.DateTimeField(
        "RSVP deadline",
        null=True,
        blank=True,
        help_text="Empty: answers are taken until the event starts.",
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
