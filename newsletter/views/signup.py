"""The visitor's path: join (HTML and JSON), confirm, preferences, unsubscribe."""

import json
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, get_conditional_response
from django.utils.formats import date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from newsletter.mail import access
from newsletter.models import Subscriber, Topic
from newsletter.subscribers import signups, subscriptions, tokens
from newsletter.web import joinpage
from newsletter.web.clientip import client_ip
from newsletter.web.forms import JoinForm, LeavingForm, PreferencesForm, validate_api_payload

RATE_LIMITED = (
    "Too many signups from your network in a short time. Please wait a minute and try again."
)


def _rate_limited(request) -> bool:
    return is_ratelimited(
        request, group="signup", key="ip", rate=settings.SIGNUP_RATE, increment=True
    )


def _subscribe(request, form: JoinForm, *, source: str) -> None:
    # One INSERT and one queued task for every address, known or not (see
    # newsletter.subscribers.signups).
    signups.signup_request(
        email=form.cleaned_data["email"],
        first_name=form.cleaned_data["first_name"],
        topic_slugs=form.topic_slugs(),
        allow_tracking=form.cleaned_data["allow_tracking"],
        source=source,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        time_zone=form.cleaned_data["time_zone"],
        access=form.cleaned_data.get("access", []),
    )


def _join_post(request, *, base_template: str):
    context = joinpage.context(base_template)
    if _rate_limited(request):
        return render(request, "429.html", {**context, "message": RATE_LIMITED}, status=429)
    form = JoinForm(request.POST)
    # A bot gets the same page as a person, so it learns nothing; nothing is stored or sent.
    if form.is_bot:
        return render(request, "newsletter/check_inbox.html", context)
    if form.is_valid():
        _subscribe(request, form, source=request.path)
        # The same page whether the address was new, pending, active or unsubscribed.
        return render(request, "newsletter/check_inbox.html", context)
    return render(request, joinpage.PAGE, {**context, "form": form}, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
def join(request):
    if request.method == "POST":
        return _join_post(request, base_template="base.html")
    return HttpResponse(joinpage.join_page(request))


def _embed_origin_allowed(request) -> bool:
    """A browser names the page a form was posted from. The embed's own frame posts from this
    site; a form pasted into the charity's pages, from an origin in EMBED_ALLOWED_ORIGINS. A
    client that names no origin is not a browser on someone else's page, so it passes."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    own = {settings.SITE_URL, f"{request.scheme}://{request.get_host()}"}
    listed = {entry.rstrip("/") for entry in settings.EMBED_ALLOWED_ORIGINS if "://" in entry}
    return origin.rstrip("/") in own | listed


def _embed_headers(response):
    response._csp_config = {
        **settings.SECURE_CSP,
        "frame-ancestors": list(settings.EMBED_ALLOWED_ORIGINS),
    }
    return response


# Framed on other pages of the site, where this site's CSRF cookie may not reach the frame, and
# cached by CDNs, so no visitor's token can be in it. A forged signup gains nothing: it only leads
# to a confirmation email, limited per address and IP; the Origin check keeps other sites out.
@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def join_embed(request):
    if request.method == "POST":
        if not _embed_origin_allowed(request):
            message = (
                f"This form cannot be sent from {request.headers['Origin'][:100]}: it is not one "
                f"of the pages of {settings.ORGANISATION_NAME} allowed to embed it "
                "(EMBED_ALLOWED_ORIGINS)."
            )
            context = {**joinpage.context(joinpage.EMBED), "message": message}
            response = render(request, "newsletter/refused.html", context, status=403)
        else:
            response = _join_post(request, base_template=joinpage.EMBED)
        add_never_cache_headers(response)
        return _embed_headers(response)
    page = joinpage.embed()
    response = HttpResponse(page.body)
    response["ETag"] = page.etag
    seconds = settings.EMBED_CACHE_SECONDS
    response["Cache-Control"] = f"public, max-age={seconds}, s-maxage={seconds}"
    return _embed_headers(get_conditional_response(request, etag=page.etag, response=response))


def _api_errors(status: int, errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


@csrf_exempt
@require_POST
def api_subscribe(request):
    if _rate_limited(request):
        return _api_errors(429, {"__all__": [RATE_LIMITED]})
    if request.content_type != "application/json":
        return _api_errors(415, {"body": ["Send the body as application/json."]})
    try:
        body = request.body
    except RequestDataTooBig:
        size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _api_errors(413, {"body": [f"The body is larger than {size} bytes."]})
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return _api_errors(400, {"body": ["The body is not valid UTF-8."]})
    except (ValueError, RecursionError):
        return _api_errors(400, {"body": ["The body is not valid JSON."]})
    form, errors = validate_api_payload(payload)
    if errors:
        return _api_errors(400, errors)
    _subscribe(request, form, source="api")
    # The same answer for a new, known, active or unsubscribed address: no enumeration.
    return JsonResponse({"status": "pending"}, status=202)


def _bad_link(request, reason: str, *, status: int = 400):
    return render(request, "newsletter/bad_link.html", {"reason": reason}, status=status)


def _token_problem(error: tokens.BadToken) -> str:
    if isinstance(error.__cause__, signing.SignatureExpired):
        days = settings.CONFIRMATION_MAX_AGE // 86400
        return (
            f"This confirmation link has expired: links work for {days} days. "
            "Sign up again to get a fresh one."
        )
    return "This link is not valid. It may have been copied incompletely, or changed."


# GET shows a button and changes nothing: mail scanners open every link in a message.
@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    try:
        signup_id = tokens.read_token("confirm", token)
    except tokens.BadToken as error:
        return _bad_link(request, _token_problem(error))
    if request.method == "GET":
        return render(request, "newsletter/confirm.html")
    outcome, subscriber_id = signups.confirm(signup_id=signup_id)
    if outcome == signups.Confirmation.GONE:
        return _bad_link(
            request,
            "This subscription ended after the link was sent, so the link no longer works. "
            "To hear from us again, please sign up once more.",
        )
    return render(
        request,
        "newsletter/confirmed.html",
        {
            "already": outcome == signups.Confirmation.ALREADY_CONFIRMED,
            "preferences_url": tokens.preferences_url(subscriber_id),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request, token):
    try:
        subscriber_id = tokens.read_token("preferences", token)
    except tokens.BadToken as error:
        return _bad_link(request, _token_problem(error))
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return _bad_link(request, "We hold no data for this link any more.", status=404)

    def page(status=200, **extra):
        form = PreferencesForm(initial=_preferences_initial(subscriber))
        if not subscriber.time_zone:
            # None chosen yet: static/zone-picker.js offers the browser's own.
            form.fields["time_zone"].widget.attrs["data-browser-zone"] = ""
        context = {
            "subscriber": subscriber,
            "token": token,
            "form": form,
            "leaving": LeavingForm(),
            "today": timezone.localdate(),
            "way_back_over": _way_back_over(subscriber),
            "way_back_days": tokens.WAY_BACK_DAYS,
            **extra,
        }
        return render(request, "newsletter/preferences.html", context, status=status)

    if request.method == "GET":
        return page()

    action = request.POST.get("action", "save")
    if action == "save":
        form = PreferencesForm(request.POST)
        if not form.is_valid():
            return page(status=400, form=form)
        if not form.topic_slugs() and "no-topics-confirmed" not in request.POST:
            # Nothing saved: no topics means no emails, so ask whether they mean to leave.
            return page(form=form, no_topics=True)
        before = _stored_choices(subscriber)
        subscriber = subscriptions.update_preferences(
            subscriber_id=subscriber_id,
            first_name=form.cleaned_data["first_name"],
            topic_slugs=form.topic_slugs(),
            allow_tracking=form.cleaned_data["allow_tracking"],
            digest_only=form.digest_only,
            time_zone=form.cleaned_data["time_zone"] or None,
            access_choices=form.cleaned_data["access"],
        )
        if subscriber is None:
            return _bad_link(request, "We hold no data for this link any more.", status=404)
        if _stored_choices(subscriber) == before:
            # Enter in a field sends the form as it stands: say so rather than "saved".
            return page(notice=NOTHING_CHANGED)
        return page(notice="Your preferences were saved.")
    if action == "pause":
        months = _months(request.POST.get("months"))
        if months is None:
            return _bad_link(request, "That pause is not one this page offers.")
        until = subscriptions.pause(subscriber_id=subscriber_id, months=months)
        subscriber.refresh_from_db()
        return page(notice=f"Paused until {date_format(until, 'j F Y')}: no emails before then.")
    if action == "resume":
        subscriptions.resume(subscriber_id=subscriber_id)
        subscriber.refresh_from_db()
        return page(notice="Your emails are back on.")
    if action == "digest-only":
        subscriptions.digests_only(subscriber_id=subscriber_id)
        subscriber.refresh_from_db()
        return page(notice="Done: you will get our digests only, no one-off emails.")
    if action == "only-topics":
        slugs = request.POST.getlist("topics")
        if not subscriptions.keep_only_topics(subscriber_id=subscriber_id, topic_slugs=slugs):
            return page(notice=NOTHING_CHANGED)
        subscriber.refresh_from_db()
        names = ", ".join(subscriber.topics.values_list("name", flat=True))
        return page(notice=f"Done: you will hear from us only about {names}.")
    if action == "unsubscribe":
        leaving = LeavingForm(request.POST)
        if not leaving.is_valid():
            return page(status=400, leaving=leaving)
        subscriptions.unsubscribe(subscriber_id=subscriber_id, **leaving.cleaned_data)
        return render(request, "newsletter/unsubscribed.html", _leaving_context(token))
    if action == "reason":
        leaving = LeavingForm(request.POST)
        if not leaving.is_valid():
            return page(status=400, leaving=leaving)
        told = subscriptions.record_leaving_reason(
            subscriber_id=subscriber_id, **leaving.cleaned_data
        )
        subscriber.refresh_from_db()
        context = {
            **_leaving_context(token),
            "told": told,
            "told_reason": bool(subscriber.leaving_reason),
            "told_comment": bool(subscriber.leaving_comment),
        }
        return render(request, "newsletter/unsubscribed.html", context)
    if action == "resubscribe":
        outcome = subscriptions.resubscribe(
            subscriber_id=subscriber_id,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        subscriber.refresh_from_db()
        if outcome == subscriptions.Return.TOO_LATE:
            return page(status=410, too_late=True)
        if outcome != subscriptions.Return.BACK:
            return page(status=409, refused=outcome == subscriptions.Return.REFUSED)
        return page(notice="Welcome back: you are subscribed again.")
    if action == "export":
        response = JsonResponse(
            subscriptions.export_data(subscriber), json_dumps_params={"indent": 2}
        )
        response["Content-Disposition"] = 'attachment; filename="my-newsletter-data.json"'
        return response
    if action == "erase":
        return render(
            request, "newsletter/erase_confirm.html", {"subscriber": subscriber, "token": token}
        )
    if action == "erase-confirmed":
        subscriptions.erase(subscriber_id=subscriber_id)
        return render(request, "newsletter/erased.html")
    return _bad_link(request, "That action is not one this page offers.")


def _way_back_over(subscriber: Subscriber) -> bool:
    until = subscriptions.way_back_until(subscriber)
    return until is None or timezone.now() > until


NOTHING_CHANGED = "Nothing changed: your choices are as they were."


def _months(value: str | None) -> int | None:
    try:
        months = int(value or 1)
    except ValueError:
        return None
    return months if months in subscriptions.PAUSE_MONTHS else None


def _leaving_context(token: str) -> dict:
    """What the page after unsubscribing offers: the way back (a signed link that works for
    WAY_BACK_DAYS) and the optional reason (through the reader's preference link)."""
    subscriber_id = tokens.read_token("preferences", token)
    return {
        "preferences_action": reverse("preferences", args=[token]),
        "way_back_path": reverse("way-back", args=[tokens.make_token("way-back", subscriber_id)]),
        "way_back_until": timezone.now() + timedelta(days=tokens.WAY_BACK_DAYS),
        "reasons": Subscriber.LeavingReason.choices,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def way_back(request, token):
    """Coming back after unsubscribing with no new opt-in, within the grace period: the page
    after leaving carries this signed link in its button (the same browser session) and offers it
    to keep. GET shows the button and changes nothing (mail scanners); POST comes back. Later, the
    page says how to join again."""
    try:
        subscriber_id, fresh = tokens.way_back_reader(token)
    except tokens.BadToken:
        return _bad_link(request, "This link is not valid. It may have been copied incompletely.")
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return _bad_link(request, "We hold no data for this link any more.", status=404)
    until = subscriptions.way_back_until(subscriber)
    late = not fresh or _way_back_over(subscriber)

    def page(state, status=200):
        context = {"state": state, "until": until, "days": tokens.WAY_BACK_DAYS}
        return render(request, "newsletter/way_back.html", context, status=status)

    if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
        return page("not-left")
    if late:
        return page("too-late", status=410)
    if request.method == "GET":
        return page("offer")
    outcome = subscriptions.resubscribe(
        subscriber_id=subscriber_id,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
    if outcome == subscriptions.Return.TOO_LATE:
        return page("too-late", status=410)
    if outcome == subscriptions.Return.REFUSED:
        return page("refused", status=409)
    if outcome == subscriptions.Return.NOT_LEFT:
        return page("not-left")
    return page("back")


def _stored_choices(subscriber: Subscriber) -> tuple:
    """What the preference form can change, as stored."""
    topics = sorted(subscriber.topics.values_list("slug", flat=True))
    fields = ("first_name", "allow_tracking", "digest_only", "time_zone", *access.FIELDS)
    return (topics, *(getattr(subscriber, name) for name in fields))


def _preferences_initial(subscriber: Subscriber) -> dict:
    return {
        "first_name": subscriber.first_name,
        "topics": [topic.slug for topic in subscriber.topics.all()],
        "allow_tracking": subscriber.allow_tracking,
        "emails": "digest" if subscriber.digest_only else "all",
        "digest": subscriber.digest_only,
        "time_zone": subscriber.time_zone or settings.TIME_ZONE,
        "access": access.choices_of(subscriber),
    }


# RFC 8058 one-click: mail clients POST here with no cookie and no CSRF token. A GET only shows
# the button, because mail scanners follow every link in a message.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    try:
        subscriber_id = tokens.read_token("unsubscribe", token)
    except tokens.BadToken as error:
        return _bad_link(request, _token_problem(error))
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    preferences_token = tokens.make_token("preferences", subscriber_id)
    if request.method == "POST":
        # Idempotent, and an erased or unknown subscriber sees the same success.
        subscriptions.unsubscribe(subscriber_id=subscriber_id)
        context = _leaving_context(preferences_token) if subscriber else {}
        return render(request, "newsletter/unsubscribed.html", context)
    # The one button first; beside it, fewer emails instead, each one press on the preference
    # link (CSRF-protected, unlike the one-click POST above).
    context = {"subscriber": subscriber}
    if subscriber is not None:
        chosen = set(subscriber.topics.values_list("pk", flat=True))
        context["preferences_action"] = reverse("preferences", args=[preferences_token])
        context["topics"] = [
            {"slug": topic.slug, "name": topic.name, "chosen": topic.pk in chosen}
            for topic in Topic.objects.order_by("position", "name")
        ]
    return render(request, "newsletter/unsubscribe.html", context)
