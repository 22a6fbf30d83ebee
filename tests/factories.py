"""factory_boy factories for the usual rows; add yours here."""

import datetime
import io

import factory
from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone
from PIL import Image as PillowImage

from newsletter.models import Campaign, CampaignPost, DigestSchedule, Post, Subscriber, Topic


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"topic-{n}")
    name = factory.LazyAttribute(lambda topic: topic.slug.replace("-", " ").capitalize())


class SubscriberFactory(factory.django.DjangoModelFactory):
    """A pending subscriber; `SubscriberFactory(active=True)` for a confirmed one."""

    class Meta:
        model = Subscriber
        skip_postgeneration_save = True

    class Params:
        active = factory.Trait(
            status=Subscriber.Status.ACTIVE, confirmed_at=factory.LazyFunction(timezone.now)
        )
        unsubscribed = factory.Trait(
            status=Subscriber.Status.UNSUBSCRIBED,
            confirmed_at=factory.LazyFunction(timezone.now),
            unsubscribed_at=factory.LazyFunction(timezone.now),
        )

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    first_name = factory.Faker("first_name")
    status = Subscriber.Status.PENDING
    allow_tracking = True  # a reader who said yes; the model's default is no
    consent_at = factory.LazyFunction(timezone.now)
    consent_source = "/join/"
    consent_ip = "192.0.2.1"
    consent_user_agent = "Mozilla/5.0 (test)"
    consent_version = "2026-11"

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):
        if create and extracted:
            self.topics.set(extracted)


class PostFactory(factory.django.DjangoModelFactory):
    """A published post; pass `topic=` (e.g. from the `topics` fixture) and `kind=`."""

    class Meta:
        model = Post

    kind = Post.Kind.NEWS
    title = factory.Sequence(lambda n: f"Post number {n}")
    slug = factory.Sequence(lambda n: f"post-{n}")
    summary = factory.Faker("paragraph", nb_sentences=3)
    body = factory.Faker("text", max_nb_chars=1500)
    url = factory.LazyAttribute(lambda post: f"https://engage.example.org/{post.slug}/")
    topic = factory.SubFactory(TopicFactory)
    status = Post.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class CampaignFactory(factory.django.DjangoModelFactory):
    """A draft campaign; `CampaignFactory(posts=[...], topics=[...])` fills items and audience."""

    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    subject = factory.Sequence(lambda n: f"Our news, issue {n}")
    slug = factory.Sequence(lambda n: f"issue-{n}")
    preheader = "What happened this month"
    intro = "Thank you for being with us."

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):
        if create and extracted:
            self.topics.set(extracted)

    @factory.post_generation
    def posts(self, create, extracted, **kwargs):
        if create and extracted:
            CampaignPost.objects.bulk_create(
                CampaignPost(campaign=self, post=post, position=i)
                for i, post in enumerate(extracted)
            )


class DigestScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DigestSchedule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Weekly digest {n}")
    weekday = DigestSchedule.Weekday.MONDAY
    time_of_day = datetime.time(9, 0)
    timezone = "Europe/London"
    subject = "Your weekly digest, {date}"

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):
        if create and extracted:
            self.topics.set(extracted)


def subscriber_table() -> list[dict]:
    """Every stored subscriber with its topics, to show that a request changed nothing."""
    rows = []
    for subscriber in Subscriber.objects.order_by("id").prefetch_related("topics"):
        row = {
            field.attname: getattr(subscriber, field.attname) for field in Subscriber._meta.fields
        }
        row["topics"] = sorted(topic.slug for topic in subscriber.topics.all())
        rows.append(row)
    return rows


def event_taking_rsvps(topic, *, capacity=None, waitlist=True, starts_in_days=10, **fields):
    """A published event post that takes RSVPs by email (its PostEngagement row)."""
    from newsletter.models import PostEngagement

    starts_at = timezone.now().replace(second=0, microsecond=0)
    starts_at += datetime.timedelta(days=starts_in_days)
    post = PostFactory(
        kind=Post.Kind.EVENT,
        topic=topic,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(hours=2),
        location="Community Hall, Leeds",
        **fields,
    )
    PostEngagement.objects.create(post=post, takes_rsvps=True, capacity=capacity, waitlist=waitlist)
    return post


# Each role's permissions as the migrations left them, read once before any test ran
# (tests/conftest.py): a transactional test's flush takes the seeded groups away.
ROLES_AS_MIGRATED: dict[str, list[str]] = {}


def role_group(role: str) -> Group:
    """The group of `role` ("editor", "sender", "subscriber manager") with its permissions as
    migrated, made again if a flush took it away."""
    group, made = Group.objects.get_or_create(name=role)
    if made:
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="newsletter", codename__in=ROLES_AS_MIGRATED[role]
            )
        )
    return group


def staff_member(role: str, **fields) -> User:
    """A staff user in the group of `role`."""
    name = role.replace(" ", "-")
    user = User.objects.create_user(name, f"{name}@engage.example.org", is_staff=True, **fields)
    user.groups.add(role_group(role))
    return user


def picture(width: int = 40, height: int = 30, fmt: str = "PNG", **options) -> bytes:
    """The bytes of a one-colour image file (`options`: Pillow's, e.g. mode, color, exif)."""
    mode, color = options.pop("mode", "RGB"), options.pop("color", "teal")
    out = io.BytesIO()
    PillowImage.new(mode, (width, height), color).save(out, fmt, **options)
    return out.getvalue()
