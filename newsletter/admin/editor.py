"""Writing in admin: the Markdown editor (EasyMDE, served from static/vendor/easymde) and the live
email preview beside the post and campaign forms.

The preview posts the form's current values, unsaved, and answers with the email as the rendering
pipeline makes it (nh3-sanitised Markdown, inlined CSS, the greeting, the reader's name), so what
staff see while typing is what the existing preview and the send show.
"""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.http import require_POST

from newsletter.admin.scheduling import audience_sentence
from newsletter.campaigns.audience import audience_count
from newsletter.campaigns.snapshot import snapshot_of
from newsletter.mail import rendering
from newsletter.models import Campaign, Post, Reference, Subscriber, Topic

# Longer than any post or intro staff write; a paste of a whole book is refused, not rendered.
# (A form over DATA_UPLOAD_MAX_MEMORY_SIZE is refused before it is read.)
MAX_MARKDOWN = 50_000
# Rows of the campaign's posts inline the preview reads at most.
MAX_POSTS = 200

_GREETING_START = re.compile(r"\s*(dear|hi|hello|hey|greetings)\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"{[^{}]*}")


class MarkdownEditor(forms.Textarea):
    """A textarea that becomes a Markdown editor with an image button (without JavaScript it
    stays a textarea)."""

    class Media:
        css = {"all": ["vendor/easymde/easymde.min.css", "admin/engage-editor.css"]}
        js = ["vendor/easymde/easymde.min.js", "admin/engage-editor.js"]

    def __init__(self, attrs=None):
        super().__init__({"rows": 12, "data-markdown-editor": "", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        # Resolved per render: the URL conf is not loaded when forms are defined.
        context["widget"]["attrs"]["data-upload-url"] = reverse("admin:image-upload")
        return context


def doubled_greeting(greeting: str, intro: str) -> str | None:
    """Why the email would greet twice (the greeting, then an intro starting "Dear …"), or None."""
    if greeting.strip() and _GREETING_START.match(intro or ""):
        return (
            f"The email already opens with the greeting “{greeting.strip()}”: start the intro "
            "without one, or clear the greeting."
        )
    return None


def greeting_problem(greeting: str) -> str | None:
    """Only {first_name} is filled in; any other {…} would reach readers as typed."""
    unknown = [found for found in _PLACEHOLDER.findall(greeting) if found != "{first_name}"]
    if unknown:
        return f"Only {{first_name}} is filled in; “{unknown[0]}” would be sent as it is."
    return None


class CampaignPreviewForm(forms.Form):
    """The compose form's fields the email shows, as typed (nothing is required mid-typing)."""

    subject = forms.CharField(max_length=200, required=False)
    preheader = forms.CharField(max_length=200, required=False)
    intro = forms.CharField(max_length=MAX_MARKDOWN, required=False, strip=False)
    greeting = forms.CharField(max_length=200, required=False)
    topics = forms.ModelMultipleChoiceField(queryset=Topic.objects.all(), required=False)

    def clean_greeting(self):
        greeting = self.cleaned_data["greeting"]
        if problem := greeting_problem(greeting):
            raise forms.ValidationError(problem)
        return greeting


def _posts_of(data) -> list[Post]:
    """The posts of the form's inline rows (prefix "items"), in the order staff set, or a
    ValidationError for a row that names no post we have."""
    rows = []
    for key, value in data.items():
        found = re.fullmatch(r"items-(\d+)-post", key)
        if not found or not value or data.get(f"items-{found[1]}-DELETE"):
            continue
        position = data.get(f"items-{found[1]}-position") or "0"
        if not (value.isdigit() and position.isdigit()) or len(rows) >= MAX_POSTS:
            raise forms.ValidationError("The posts of this campaign are not readable.")
        rows.append((int(position), int(found[1]), int(value)))
    wanted = [post_id for _, _, post_id in sorted(rows)]
    posts = Post.objects.filter(pk__in=wanted).select_related("topic", "engagement")
    found_posts = {post.pk: post for post in posts.prefetch_related("references")}
    if set(wanted) - set(found_posts):
        raise forms.ValidationError("A post of this campaign does not exist (any more).")
    return [found_posts[post_id] for post_id in wanted]


def _editable(request, model_admin, object_id):
    """The saved row the form edits (None on an add page), if this user may change it."""
    if object_id is None:
        if not model_admin.has_add_permission(request):
            raise PermissionDenied
        return None
    obj = get_object_or_404(model_admin.model, pk=object_id)
    if not model_admin.has_change_permission(request, obj):
        raise PermissionDenied
    return obj


def _answer(request, campaign: Campaign, snapshot, *, warnings=(), empty="") -> dict:
    """The email as the signed-in staff member would get it (their first name), for JSON."""
    body = rendering.render_snapshot(campaign, snapshot, snapshot.topic_slugs)
    if body is None:
        return {"html": "", "warnings": list(warnings), "empty": empty}
    reader = Subscriber(pk=0, first_name=request.user.first_name)
    message = rendering.personalise(body, reader)
    return {
        "subject": message.subject,
        "html": message.html,
        "size": len(message.html.encode()),
        "warnings": list(warnings),
    }


def refusal(errors) -> JsonResponse:
    """400 with each field's messages: {"errors": {"field": ["…"]}}."""
    return JsonResponse(
        {"errors": {name: list(found) for name, found in errors.items()}}, status=400
    )


def _posted(request):
    """The form's values, or None when there are too many of them to read."""
    try:
        return request.POST
    except (RequestDataTooBig, TooManyFieldsSent):
        return None


def _too_big() -> JsonResponse:
    size = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return refusal({"__all__": [f"The form holds more than {size}: it cannot be previewed."]})


@require_POST
def campaign_preview(request, model_admin, object_id=None) -> JsonResponse:
    campaign = _editable(request, model_admin, object_id) or Campaign(slug="preview")
    if (data := _posted(request)) is None:
        return _too_big()
    form = CampaignPreviewForm(data)
    if not form.is_valid():
        return refusal(form.errors)
    try:
        posts = _posts_of(data)
    except forms.ValidationError as error:
        return refusal({"posts": error.messages})
    data = form.cleaned_data
    for name in ("subject", "preheader", "intro", "greeting"):
        setattr(campaign, name, data[name])
    topics = Topic.objects.filter(pk__in=[topic.pk for topic in data["topics"]])
    snapshot = snapshot_of(campaign, topics=topics, posts=posts)
    warning = doubled_greeting(data["greeting"], data["intro"])
    answer = _answer(
        request,
        campaign,
        snapshot,
        warnings=[warning] if warning else [],
        empty="Tick a topic and add a post of that topic to see the email.",
    )
    # Who it would go to as composed, before it is saved (a scheduled one is not composed).
    answer["audience"] = audience_sentence(audience_count(campaign, snapshot))
    return JsonResponse(answer)


@require_POST
def post_preview(request, model_admin, object_id=None) -> JsonResponse:
    """The post as it appears in an email (its section of a campaign)."""
    post = _editable(request, model_admin, object_id) or Post()
    if (data := _posted(request)) is None:
        return _too_big()
    if any(len(data.get(name, "")) > MAX_MARKDOWN for name in ("body", "summary")):
        return refusal({"body": [f"At most {MAX_MARKDOWN} characters."]})
    form = model_admin.get_form(request, post)(data, instance=post)
    form.is_valid()  # fills `post` with every field that is valid so far; nothing is saved
    if post.topic_id is None:
        return JsonResponse({"html": "", "empty": "Choose a topic to see the post in an email."})
    if post.pk is None:
        # A new post has no references yet (and an unsaved row cannot be asked for them).
        post._prefetched_objects_cache = {"references": Reference.objects.none()}
    post.title = post.title or "(no title yet)"
    campaign = Campaign(slug="preview", subject=post.title, greeting="")
    topics = Topic.objects.filter(pk=post.topic_id)
    return JsonResponse(
        _answer(request, campaign, snapshot_of(campaign, topics=topics, posts=[post]))
    )
