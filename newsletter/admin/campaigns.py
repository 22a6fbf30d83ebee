"""Admin for campaigns (compose, preview, test, schedule, pause,
resume, cancel, duplicate). Every action calls a service, then says what
happened with message_user."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from newsletter.admin import deliveries, editor, progress, variants
from newsletter.admin.campaign_forms import (
    CampaignForm,
    CampaignPostInline,
    DigestForm,
    PreviewForm,
    SendTestForm,
)
from newsletter.admin.scheduling import ScheduleForm, audience_sentence, local_question, question
from newsletter.admin.sender_auth import sender_authentication_view
from newsletter.campaigns import abtest, digests, preflight, scheduling, sendtest, states
from newsletter.campaigns import enqueue as campaigns_enqueue
from newsletter.campaigns.audience import audience_count
from newsletter.campaigns.snapshot import render_body
from newsletter.campaigns.when import staff_time
from newsletter.delivery import lifecycle
from newsletter.mail import rendering
from newsletter.models import Campaign, Subscriber
from newsletter.staff import audit, permissions

Status = Campaign.Status


# --- Campaigns -------------------------------------------------------------------------------


@admin.register(Campaign)
class CampaignAdmin(permissions.SendPermission, admin.ModelAdmin):
    form = CampaignForm
    inlines = [CampaignPostInline, variants.CampaignVariantInline]
    list_display = ["subject", "status", "scheduled_at", "digest_schedule", "progress"]
    list_filter = ["status", "topics", "digest_schedule"]
    list_select_related = ["digest_schedule"]
    search_fields = ["subject", "slug"]
    prepopulated_fields = {"slug": ["subject"]}
    date_hierarchy = "scheduled_at"
    actions = ["pause_selected", "resume_selected", "cancel_selected", "duplicate_selected"]
    change_form_template = "admin/newsletter/campaign/change_form.html"
    change_list_template = "admin/newsletter/campaign/change_list.html"
    readonly_fields = [
        "status",
        "status_reason",
        "scheduled_at",
        "audience_size",
        "progress",
        "timeline",
        "local_time_waves",
    ]
    fieldsets = [
        (None, {"fields": ["subject", "slug", "preheader", "greeting", "intro"]}),
        ("Audience", {"fields": ["topics", "audience_size"]}),
        (
            "Sending",
            {
                "fields": [
                    "status",
                    "status_reason",
                    "scheduled_at",
                    "progress",
                    "timeline",
                    "local_time_waves",
                ]
            },
        ),
        ("Tracking", {"fields": ["track_opens", "track_clicks"], "classes": ["collapse"]}),
        variants.FIELDSET,
    ]

    # Only a draft changes. A scheduled campaign is frozen as its sender approved it (its
    # Snapshot): "Back to draft" (a sender's action) reopens it, and it must be scheduled again.
    def get_queryset(self, request):
        # A series step's campaign is run by its series (admin: Series).
        return super().get_queryset(request).filter(series_step=None)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status not in states.EDITABLE:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="progress")
    def progress(self, obj):
        # progress_html builds its markup with format_html.
        return mark_safe(progress.progress_html(obj))  # noqa: S308

    @admin.display(description="in each reader's time zone")
    def local_time_waves(self, obj):
        if obj.local_date is None or obj.local_time is None:
            return "—"
        when = f"at {obj.local_time:%H:%M} on {obj.local_date:%A %-d %B %Y}"
        return format_html("<p>{}</p>{}", when, deliveries.waves_html(obj))

    @admin.display(description="audience now")
    def audience_size(self, obj):
        if obj.pk is None or obj.status not in (Status.DRAFT, Status.SCHEDULED):
            return "—"
        return audience_sentence(audience_count(obj))

    @admin.display(description="timeline")
    def timeline(self, obj):
        moments = [("started", obj.started_at), ("finished", obj.finished_at)]
        done = [f"{name} {timezone.localtime(at):%Y-%m-%d %H:%M}" for name, at in moments if at]
        return ", ".join(done) or "—"

    # --- Custom views ------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("compose-digest/", view(self.compose_digest_view), name="campaign-digest"),
            # <int:…>, not the admin's <path:…>: "1/do/x/schedule/" must not reach a view as "1/do".
            path("<int:object_id>/preview/", view(self.preview_view), name="campaign-preview"),
            path("live-preview/", view(self.live_preview_view), name="campaign-live-preview-add"),
            path(
                "<int:object_id>/live-preview/",
                view(self.live_preview_view),
                name="campaign-live-preview",
            ),
            path("<int:object_id>/send-test/", view(self.send_test_view), name="campaign-test"),
            path(
                "sender-authentication/",
                view(lambda request: sender_authentication_view(self, request)),
                name="campaign-sender-authentication",
            ),
            path("<int:object_id>/schedule/", view(self.schedule_view), name="campaign-schedule"),
            path(
                "<int:object_id>/do/<str:action>/",
                view(self.action_view),
                name="campaign-action",
            ),
            path(
                "<int:object_id>/winner/<str:letter>/",
                view(lambda request, **kw: variants.winner_view(self, request, **kw)),
                name="campaign-winner",
            ),
            *super().get_urls(),
        ]

    def _campaign(self, request, object_id) -> Campaign:
        campaign = get_object_or_404(Campaign, pk=object_id)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def _change_url(self, campaign) -> str:
        return reverse("admin:newsletter_campaign_change", args=[campaign.pk])

    def _render(self, request, campaign, template, context):
        return TemplateResponse(
            request,
            f"admin/newsletter/campaign/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": campaign,
                "campaign": campaign,
                "title": context.pop("title"),
                **context,
            },
        )

    def preview_view(self, request, object_id):
        campaign = self._campaign(request, object_id)
        may_look_up = request.user.has_perm(permissions.VIEW_SUBSCRIBER)
        form = PreviewForm(request.GET or None, campaign=campaign, may_look_up=may_look_up)
        reader = Subscriber(pk=0, first_name=request.user.first_name)
        slugs = frozenset(campaign.topics.values_list("slug", flat=True))
        if form.is_bound and form.is_valid():
            if form.cleaned_data.get("subscriber") is not None:
                reader = form.cleaned_data["subscriber"]
                slugs = frozenset(reader.topics.values_list("slug", flat=True))
            elif form.cleaned_data["topics"]:
                slugs = frozenset(topic.slug for topic in form.cleaned_data["topics"])
        body = render_body(campaign, slugs)
        personalised = rendering.personalise(body, reader) if body else None
        return self._render(
            request,
            campaign,
            "preview.html",
            {
                "title": f"Preview: {campaign.subject}",
                "form": form,
                "message": personalised,
                "size": len(personalised.html.encode()) if personalised else 0,
                "subject_test": abtest.plan_sentence(campaign, audience_count(campaign).goes_to),
                "findings": preflight.check(campaign),
            },
        )

    def live_preview_view(self, request, object_id=None):
        return editor.campaign_preview(request, self, object_id)

    def send_test_view(self, request, object_id):
        campaign = self._campaign(request, object_id)
        # Mail leaves the building: a sender's, draft or not (an editor sends nothing).
        permissions.require(request, permissions.SEND_CAMPAIGN)
        form = SendTestForm(request.POST if request.method == "POST" else None, campaign=campaign)
        status = 200
        if request.method == "POST" and sendtest.over_limit(request):
            # Counted before any address is looked at: the limit is what stops a sender asking
            # about address after address.
            status = 429
            typed = request.POST.get("addresses", "")[:2000]
            form = SendTestForm(initial={"addresses": typed}, campaign=campaign)
            self.message_user(
                request,
                f"You have sent as many tests as allowed for now ({settings.SEND_TEST_RATE}): "
                "try again later.",
                messages.ERROR,
            )
        elif request.method == "POST" and form.is_valid():
            own = request.user.email.lower()
            addresses = [a for a in dict.fromkeys([own, *form.cleaned_data["addresses"]]) if a]
            if not addresses:
                form.add_error("addresses", "Your account has no email address: type one here.")
            else:
                slugs = [topic.slug for topic in form.cleaned_data["topics"]]
                campaigns_enqueue.test_send(campaign.pk, addresses, slugs)
                audit.record(
                    request.user,
                    "test send",
                    f"campaign #{campaign.pk}",
                    request=request,
                    recipients=len(addresses),
                )
                self.message_user(request, f"Test sent to {', '.join(addresses)}.")
                return HttpResponseRedirect(self._change_url(campaign))
        response = self._render(
            request,
            campaign,
            "send_test.html",
            {"title": f"Send a test: {campaign.subject}", "form": form},
        )
        response.status_code = status
        return response

    def compose_digest_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DigestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            campaign = digests.compose_digest(
                topics=data["topics"],
                since=data["since"],
                until=data["until"],
                subject=data["subject"],
                intro=data["intro"],
            )
            if campaign is None:
                form.add_error(None, "Nothing was published for these topics in this window.")
            else:
                Campaign.objects.filter(pk=campaign.pk).update(created_by=request.user)
                count = campaign.items.count()
                self.message_user(request, f"Digest composed with {count} posts: review it.")
                return HttpResponseRedirect(self._change_url(campaign))
        return TemplateResponse(
            request,
            "admin/newsletter/campaign/compose_digest.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Compose a digest",
                "form": form,
            },
        )

    def schedule_view(self, request, object_id):
        campaign = self._campaign(request, object_id)
        permissions.require(request, permissions.SEND_CAMPAIGN)
        now = timezone.localtime()
        initial = {"at": timezone.localtime(campaign.scheduled_at or now).replace(tzinfo=None)}
        form = ScheduleForm(request.POST or None, initial=initial)
        count = audience_count(campaign)
        context = {"title": f"Schedule: {campaign.subject}", "form": form}
        context["audience"] = audience_sentence(count)
        context["subject_test"] = abtest.plan_sentence(campaign, count.goes_to)
        if request.method == "POST" and form.is_valid():
            at, zone = form.cleaned_data["at"], form.cleaned_data["timezone"]
            local = form.local()
            problems = states.schedule_problems(campaign)
            if problems:
                form.add_error(None, f"The campaign cannot be scheduled: {', '.join(problems)}.")
            elif request.POST.get("confirmed") != "1":
                # Nothing is scheduled until staff confirm who it goes to and when.
                context["title"] = f"Confirm: {campaign.subject}"
                context["findings"] = preflight.check(campaign)
                context["question"] = (
                    question(count, at, zone)
                    if local is None
                    else local_question(count, scheduling.audience_plan(campaign, *local), local)
                )
                return self._render(request, campaign, "confirm_schedule.html", context)
            else:
                return self._schedule(request, campaign, at, local)
        return self._render(request, campaign, "schedule.html", context)

    def _schedule(self, request, campaign, at, local=None):
        try:
            if local is None:
                scheduling.campaign_schedule(campaign=campaign, at=at)
            else:
                on, time_of_day = local
                scheduling.campaign_schedule(campaign=campaign, on=on, local_time=time_of_day)
        except states.IllegalTransition as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            details = {"at": campaign.scheduled_at.isoformat()}
            if local is not None:
                details["in_each_reader_zone"] = f"{local[0]:%Y-%m-%d} {local[1]:%H:%M}"
            audit.record(
                request.user, "schedule", f"campaign #{campaign.pk}", request=request, **details
            )
            if lifecycle.start_soon(campaign):
                self.message_user(request, f"“{campaign.subject}” is starting: it goes out now.")
                return HttpResponseRedirect(self._change_url(campaign))
            when = staff_time(campaign.scheduled_at)
            if local is not None:
                on, time_of_day = local
                when = (
                    f"{time_of_day:%H:%M} on {on:%Y-%m-%d} in each reader's time zone, from {when}"
                )
            self.message_user(request, f"“{campaign.subject}” is scheduled for {when}.")
        return HttpResponseRedirect(self._change_url(campaign))

    # action → (service, permission, what to say). Each changes when or whether mail goes out,
    # so each is a sender's.
    ACTIONS = {
        "pause": (states.campaign_pause, permissions.SEND_CAMPAIGN, "paused"),
        "resume": (lifecycle.campaign_resume, permissions.SEND_CAMPAIGN, "resumed"),
        "cancel": (states.campaign_cancel, permissions.SEND_CAMPAIGN, "cancelled"),
        "unschedule": (states.campaign_unschedule, permissions.SEND_CAMPAIGN, "back to draft"),
    }

    def action_view(self, request, object_id, action):
        if action != "duplicate" and action not in self.ACTIONS:
            raise Http404(f"No campaign action is called “{action}”.")
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = self._campaign(request, object_id)
        if action == "duplicate":
            permissions.require(request, permissions.ADD_CAMPAIGN)
            copy = states.campaign_duplicate(campaign=campaign, by=request.user)
            self.message_user(request, f"Duplicated as a new draft “{copy.subject}”.")
            return HttpResponseRedirect(self._change_url(copy))
        service, permission, done = self.ACTIONS[action]
        permissions.require(request, permission)
        try:
            service(campaign=campaign)
        except states.IllegalTransition as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            audit.record(request.user, action, f"campaign #{campaign.pk}", request=request)
            self.message_user(request, f"“{campaign.subject}”: {done}.")
        return HttpResponseRedirect(self._change_url(campaign))

    # --- List actions ------------------------------------------------------------------------

    def _bulk(self, request, queryset, action):
        service, permission, done = self.ACTIONS[action]
        permissions.require(request, permission)
        changed, refused = 0, []
        for campaign in queryset:
            try:
                service(campaign=campaign)
                changed += 1
                audit.record(request.user, action, f"campaign #{campaign.pk}", request=request)
            except states.IllegalTransition as error:
                refused.append(f"“{campaign.subject}”: {error}")
        if changed:
            self.message_user(request, f"{changed} campaign(s) {done}.")
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description="Pause selected campaigns", permissions=["send"])
    def pause_selected(self, request, queryset):
        self._bulk(request, queryset, "pause")

    @admin.action(description="Resume selected campaigns", permissions=["send"])
    def resume_selected(self, request, queryset):
        self._bulk(request, queryset, "resume")

    @admin.action(description="Cancel selected campaigns", permissions=["send"])
    def cancel_selected(self, request, queryset):
        self._bulk(request, queryset, "cancel")

    @admin.action(description="Duplicate selected campaigns as drafts", permissions=["add"])
    def duplicate_selected(self, request, queryset):
        copies = [states.campaign_duplicate(campaign=c, by=request.user) for c in queryset]
        self.message_user(request, f"{len(copies)} draft(s) created.")
