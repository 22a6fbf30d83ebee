"""Topics and posts. A post is written through the admin's own form (PostForm), so the API and
staff share its rules; only a key whose scope allows publishing publishes."""

from datetime import datetime
from typing import Literal

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.text import slugify
from ninja import Field, Query, Router, Schema, Status

from newsletter.admin.posts import PostForm
from newsletter.api import audit, keys
from newsletter.api.subscribers import Strict
from newsletter.api.v1 import ERRORS, ApiError, Id, KeyAuth, Moment, require
from newsletter.models import Post, Topic

topics = Router(auth=KeyAuth(keys.TOPICS))
posts = Router(auth=KeyAuth(keys.POSTS))


class TopicOut(Schema):
    slug: str
    name: str
    description: str


@topics.get("/", response={200: list[TopicOut], **ERRORS})
def list_topics(request):
    return list(Topic.objects.order_by("position", "id").values("slug", "name", "description"))


class PostIn(Strict):
    kind: Literal["news", "event", "education", "get-involved"] = "news"
    title: str = Field(max_length=200)
    slug: str = Field("", max_length=200, description="Made from the title when left out.")
    topic: str = Field(max_length=50, description="A topic's slug.")
    summary: str = Field("", max_length=600)
    body: str = Field("", max_length=50_000, description="Markdown.")
    url: str = Field("", max_length=200)
    image_url: str = Field("", max_length=200)
    image_alt: str = Field("", max_length=200)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    timezone: str = Field(settings.TIME_ZONE, max_length=64)
    location: str = Field("", max_length=200)
    registration_url: str = Field("", max_length=200)


class PostPatch(Strict):
    kind: Literal["news", "event", "education", "get-involved"] | None = None
    title: str | None = Field(None, max_length=200)
    slug: str | None = Field(None, max_length=200)
    topic: str | None = Field(None, max_length=50)
    summary: str | None = Field(None, max_length=600)
    body: str | None = Field(None, max_length=50_000)
    url: str | None = Field(None, max_length=200)
    image_url: str | None = Field(None, max_length=200)
    image_alt: str | None = Field(None, max_length=200)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    timezone: str | None = Field(None, max_length=64)
    location: str | None = Field(None, max_length=200)
    registration_url: str | None = Field(None, max_length=200)


class PostOut(Schema):
    id: int
    kind: str
    title: str
    slug: str
    topic: str
    summary: str
    body: str
    url: str
    status: str
    published_at: datetime | None
    starts_at: datetime | None
    ends_at: datetime | None
    location: str
    updated_at: datetime


def _out(post: Post) -> dict:
    return {
        **{name: getattr(post, name) for name in PostOut.model_fields if name != "topic"},
        "topic": post.topic.slug,
    }


def _save(request, data: dict, post: Post | None) -> Post:
    """Through the admin's form: the same checks as staff get (events need a start, images a
    description, slugs are unique)."""
    if "topic" in data:
        topic = Topic.objects.filter(slug=data["topic"]).first()
        if topic is None:
            raise ApiError(400, "invalid", "Unknown topic.", {"topic": ["No such topic."]})
        data["topic"] = topic.pk
    form = PostForm(data={k: "" if v is None else v for k, v in data.items()}, instance=post)
    if not form.is_valid():
        fields = {name: list(messages) for name, messages in form.errors.items()}
        raise ApiError(400, "invalid", "The post has invalid fields.", fields)
    return form.save()


def _fields(post: Post) -> dict:
    return {
        name: getattr(post, name) for name in PostForm.Meta.fields if name not in ("topic",)
    } | {"topic": post.topic.slug}


@posts.get("/", response={200: list[PostOut], **ERRORS})
def list_posts(request, status: Literal["draft", "published"] | None = Query(None)):
    """The latest 100 posts."""
    rows = Post.objects.select_related("topic").order_by("-updated_at", "-id")
    if status:
        rows = rows.filter(status=status)
    return [_out(post) for post in rows[:100]]


@posts.get("/{post_id}/", response={200: PostOut, **ERRORS})
def read_post(request, post_id: Id):
    return _out(get_object_or_404(Post.objects.select_related("topic"), pk=post_id))


@posts.post("/", response={201: PostOut, **ERRORS})
def create_post(request, payload: PostIn):
    """A draft (from the site's CMS, say): staff, or a key allowed to, publish it."""
    data = payload.model_dump()
    data["slug"] = data["slug"] or slugify(data["title"])[:200]
    data.update(status=Post.Status.DRAFT, published_at=None)
    post = _save(request, data, None)
    audit.record(request, "api: post created", f"post #{post.pk}")
    return Status(201, _out(post))


@posts.patch("/{post_id}/", response={200: PostOut, **ERRORS})
def change_post(request, post_id: Id, payload: PostPatch):
    post = get_object_or_404(Post.objects.select_related("topic"), pk=post_id)
    if post.status == Post.Status.PUBLISHED:
        require(request, keys.PUBLISH)  # a published post is live: a draft key cannot change it
    data = _fields(post) | payload.model_dump(exclude_unset=True)
    post = _save(request, data, post)
    audit.record(request, "api: post changed", f"post #{post.pk}")
    return _out(post)


@posts.post("/{post_id}/publish/", response={200: PostOut, **ERRORS}, auth=KeyAuth(keys.PUBLISH))
def publish_post(request, post_id: Id):
    post = get_object_or_404(Post.objects.select_related("topic"), pk=post_id)
    if post.status != Post.Status.PUBLISHED:
        post = _save(request, _fields(post) | {"status": Post.Status.PUBLISHED}, post)
        audit.record(request, "api: post published", f"post #{post.pk}")
    return _out(post)
