"""A reader's answer to an event, from their email or the public event page, and "count me in".

GET only shows one button: mail scanners follow every link in a message, so only a POST records.
"""

from django.conf import settings
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from newsletter.engagement import interest, rsvp
from newsletter.models import Post
from newsletter.subscribers import tokens
from newsletter.web.forms import GuestRsvpForm

ANSWERS = {"yes": rsvp.Answer.YES, "no": rsvp.Answer.NO}
BAD_LINK = "This link is not valid. It may have been copied incompletely, or changed."
GONE = "We hold no data for this link any more."


def _bad_link(request, reason: str, *, status: int = 400):
    return render(request, "newsletter/bad_link.html", {"reason": reason}, status=status)


def _event(post_id: int) -> Post | None:
    return (
        Post.objects.select_related("engagement")
        .filter(pk=post_id, kind=Post.Kind.EVENT, status=Post.Status.PUBLISHED)
        .first()
    )


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request, token):
    try:
        reader_value, post_id = tokens.read_post_token("rsvp", token)
        reader = rsvp.Reader.from_token_value(reader_value)
    except (tokens.BadToken, ValueError):
        return _bad_link(request, BAD_LINK)
    post = _event(post_id)
    if post is None or post.engagement_or_none() is None:
        return _bad_link(request, "This event is no longer on our site.", status=404)
    current = rsvp.find_rsvp(reader, post_id)
    if reader.rsvp_id and current is None:
        return _bad_link(request, GONE, status=404)
    context = {"post": post, "current": current, "closes_at": post.rsvps_close_at()}
    # A visitor has no preference centre: this page forgets their answer, even once closed.
    if reader.rsvp_id and "forget" in (request.GET.get("answer"), request.POST.get("answer")):
        return _forget_visitor(request, current, context)
    if not post.takes_answers():
        return render(request, "rsvp/closed.html", context, status=410)

    if request.method == "GET":
        offered = request.GET.get("answer")
        if offered not in ANSWERS:
            offered = "no" if current and current.answer == rsvp.Answer.YES else "yes"
        context["visitor"] = bool(reader.rsvp_id)
        return render(request, "rsvp/answer.html", {**context, "offered": offered})

    chosen = ANSWERS.get(request.POST.get("answer", ""))
    if chosen is None:
        return render(
            request,
            "rsvp/answer.html",
            {**context, "offered": "yes", "error": "Choose “I'll be there” or “Can't make it”."},
            status=400,
        )
    try:
        recorded = rsvp.rsvp_answer(reader=reader, post_id=post_id, answer=chosen)
    except rsvp.RsvpRefused as refused:
        return render(request, "rsvp/closed.html", {**context, "reason": str(refused)}, status=409)
    except LookupError:
        return _bad_link(request, GONE, status=404)
    return render(request, "rsvp/answered.html", {**context, "current": recorded})


def _forget_visitor(request, current, context):
    if request.method == "GET":
        return render(request, "rsvp/answer.html", {**context, "offered": "forget"})
    rsvp.forget_visitor(rsvp_id=current.pk, post_id=current.post_id)
    return render(request, "rsvp/forgotten.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def event_page(request, slug):
    """The public event page's RSVP form, for visitors who are not subscribers."""
    post = get_object_or_404(
        Post.objects.select_related("engagement"),
        slug=slug,
        kind=Post.Kind.EVENT,
        status=Post.Status.PUBLISHED,
        starts_at__isnull=False,
    )
    if post.engagement_or_none() is None or not post.engagement_or_none().takes_rsvps:
        return _bad_link(request, "This event does not take answers here.", status=404)
    context = {"post": post, "counts": rsvp.counts(post), "closes_at": post.rsvps_close_at()}
    if not post.takes_answers():
        return render(request, "rsvp/closed.html", context, status=410)
    if request.method == "GET":
        return render(request, "rsvp/event.html", {**context, "form": GuestRsvpForm()})

    if is_ratelimited(request, group="signup", key="ip", rate=settings.SIGNUP_RATE, increment=True):
        message = "Too many requests from your network in a short time. Please wait a minute."
        return render(request, "429.html", {"message": message}, status=429)
    form = GuestRsvpForm(request.POST)
    if form.is_bot:
        return render(request, "rsvp/check_inbox.html", context)
    if not form.is_valid():
        return render(request, "rsvp/event.html", {**context, "form": form}, status=400)
    rsvp.guest_request(
        post=post,
        email=form.cleaned_data["email"],
        name=form.cleaned_data["first_name"],
        wants_to_join=form.cleaned_data["join"],
    )
    # The same page whatever the address: no enumeration.
    return render(request, "rsvp/check_inbox.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def count_me_in(request, token):
    try:
        reader_value, post_id = tokens.read_post_token("interest", token)
        subscriber_id = int(reader_value)
    except (tokens.BadToken, ValueError):
        return _bad_link(request, BAD_LINK)
    post = Post.objects.select_related("engagement").filter(pk=post_id).first()
    if post is None or not post.takes_interest():
        return _bad_link(request, "This call for help is no longer on our site.", status=404)
    if request.method == "GET":
        return render(request, "rsvp/interest.html", {"post": post})
    try:
        interest.count_me_in(subscriber_id=subscriber_id, post=post)
    except LookupError:
        return _bad_link(request, GONE, status=404)
    return render(request, "rsvp/interest_thanks.html", {"post": post})
