"""Every kind of email Engage sends, built by the code that sends it, for tests that check each
one (links, accessibility, targets): a campaign, a digest, each welcome-series step, an event
reminder, the RSVP answer and RSVP link emails, and the confirmation."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from newsletter.campaigns import digests
from newsletter.campaigns.snapshot import render_body
from newsletter.campaigns.states import transition
from newsletter.engagement import event_reminders, rsvp
from newsletter.mail import rendering
from newsletter.models import Campaign, Post, PostEngagement, Reference, Series, Subscriber, Topic
from newsletter.subscribers import signups
from tests.factories import CampaignFactory, PostFactory, SubscriberFactory, event_taking_rsvps


def demo_extras(topics) -> dict:
    """What the demo lacks: posts with no address of their own, an event taking answers, a call
    for help, an article with references; and a reader of every topic."""
    news = PostFactory(topic=topics["news"], title="A new nurse in Leeds", url="")
    event = event_taking_rsvps(
        topics["events"], title="Coffee morning", url="", registration_url=""
    )
    article = PostFactory(
        topic=topics["education"], kind=Post.Kind.EDUCATION, title="Sleep and MND", url=""
    )
    Reference.objects.create(
        post=article, position=1, title="A study", url="https://journal.example/study"
    )
    involved = PostFactory(
        topic=topics["get-involved"], kind=Post.Kind.GET_INVOLVED, title="Help us", url=""
    )
    PostEngagement.objects.create(post=involved, count_me_in=True, contact_email="x@example.org")
    reader = SubscriberFactory(active=True, topics=list(topics.values()))
    return {"posts": [news, event, article, involved], "event": event, "reader": reader}


def _sent(campaign: Campaign) -> Campaign:
    for status in (Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.SENT):
        if campaign.status != status:
            transition(campaign, status)
    return campaign


def _rendered(campaign: Campaign, reader: Subscriber) -> tuple[str, str]:
    slugs = frozenset(Topic.objects.values_list("slug", flat=True))
    body = render_body(campaign, slugs)
    assert body is not None, campaign
    personal = rendering.personalise(body, reader)
    return personal.html, personal.text


def every_email(content, access: tuple[str, ...] = ()) -> dict[str, tuple[str, str]]:
    """name → (HTML part, text part) of each kind of email Engage sends, to a reader who chose
    these reading preferences (newsletter.mail.access)."""
    reader = content["reader"]
    for name in access:
        setattr(reader, name, True)
    reader.save()
    emails = {}
    everything = list(Post.objects.order_by("pk"))
    campaign = CampaignFactory(posts=everything, topics=list(Topic.objects.all()))
    emails["campaign"] = _rendered(_sent(campaign), reader)

    digest = digests.compose_digest(
        topics=Topic.objects.all(),
        since=timezone.now() - timedelta(days=30),
        until=timezone.now(),
        subject="Your digest, {date}",
        intro="What we published.",
    )
    emails["digest"] = _rendered(_sent(digest), reader)

    welcome = Series.objects.get()
    for step in welcome.steps.select_related("campaign").order_by("position"):
        emails[f"welcome step {step.position}"] = _rendered(step.campaign, reader)

    event = content["event"]
    answered = rsvp.rsvp_answer(
        reader=rsvp.Reader(subscriber_id=reader.pk), post_id=event.pk, answer=rsvp.Answer.YES
    )
    assert answered.answer == rsvp.Answer.YES
    rsvp.guest_request(post=event, email="guest@example.org", name="Guest", wants_to_join=False)
    event_reminders.schedule_reminder(post_id=event.pk, now=timezone.now())
    # Sent the day before the event: it is going out when its readers open it.
    reminder = Campaign.objects.get(event_reminder__post=event)
    transition(reminder, Campaign.Status.SENDING)
    emails["event reminder"] = _rendered(reminder, reader)

    signups.signup_request(
        email="new.reader@example.org",
        first_name="Nia",
        topic_slugs=["news"],
        allow_tracking=False,
        source="/join/",
        ip="192.0.2.7",
        user_agent="test",
        time_zone="Europe/London",
        access=list(access),
    )
    for message in mail.outbox:
        html = next((body for body, kind in message.alternatives if kind == "text/html"), "")
        emails[f"{message.subject} (to {message.to[0]})"] = (html, message.body)
    return emails
