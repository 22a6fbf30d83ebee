"""Admin for series (automations): steps written inline while a draft; a sender activates,
pauses or reopens it; the change page shows, per step, who is waiting, sent and stopped, with a
link to each step's report."""

from datetime import timedelta
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.urls import reverse

from newsletter import series
from newsletter.campaigns import preflight
from newsletter.models import Post, Series, SeriesStep
from newsletter.series.counts import enrolment_counts, step_counts
from newsletter.staff import audit, permissions


class SeriesForm(forms.ModelForm):
    class Meta:
        model = Series
        fields = ["name", "trigger", "topic", "track_opens", "track_clicks"]

    def clean(self):
        data = super().clean()
        topic_added = data.get("trigger") == Series.Trigger.TOPIC_ADDED
        if topic_added and not data.get("topic"):
            self.add_error("topic", "Choose the topic whose readers this series welcomes.")
        if not topic_added and data.get("topic"):
            self.add_error("topic", "Only a series for a topic added names a topic.")
        return data


MAX_DELAY = timedelta(days=366)


class SeriesStepForm(forms.ModelForm):
    posts = forms.ModelMultipleChoiceField(
        queryset=Post.objects.filter(status=Post.Status.PUBLISHED),
        required=False,
        help_text="Optional: published posts shown below the text.",
    )

    class Meta:
        model = SeriesStep
        fields = [
            "position",
            "subject",
            "preheader",
            "body",
            "posts",
            "delay",
            "delay_unit",
            "at_time",
        ]

    def clean(self):
        data = super().clean()
        delay, unit = data.get("delay"), data.get("delay_unit")
        # Compared unit by unit: a huge number overflows a timedelta.
        if delay is not None and unit and delay > MAX_DELAY / timedelta(**{unit: 1}):
            self.add_error("delay", "A step waits a year at most.")
        return data


class SeriesStepInline(admin.StackedInline):
    model = SeriesStep
    form = SeriesStepForm
    extra = 0
    fields = SeriesStepForm.Meta.fields

    # Steps change only while their series is a draft; once activated, a step is never deleted
    # (its campaign holds its sends).
    def has_add_permission(self, request, obj=None):
        return _draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        never_sent = obj is None or obj.activated_at is None
        return _draft(obj) and never_sent and super().has_delete_permission(request, obj)


def _draft(obj) -> bool:
    return obj is None or obj.status == Series.Status.DRAFT


@admin.register(Series)
class SeriesAdmin(permissions.SendPermission, admin.ModelAdmin):
    form = SeriesForm
    inlines = [SeriesStepInline]
    list_display = ["name", "trigger", "topic", "status", "enrolled", "activated_at"]
    list_filter = ["status", "trigger"]
    list_select_related = ["topic"]
    search_fields = ["name"]
    readonly_fields = [
        "state",
        "activated_at",
        "activated_by",
        "enrolled",
        "per_step",
        "accessibility",
    ]
    fieldsets = [
        (None, {"fields": ["name", "trigger", "topic"]}),
        ("Accessibility check", {"fields": ["accessibility"]}),
        ("Tracking", {"fields": ["track_opens", "track_clicks"], "classes": ["collapse"]}),
        ("Running", {"fields": ["state", "activated_at", "activated_by", "enrolled", "per_step"]}),
    ]
    actions = ["activate_selected", "pause_selected", "to_draft_selected"]

    # An active or paused series is as its sender approved it: back to draft to change it.
    def has_change_permission(self, request, obj=None):
        return _draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        never_sent = obj is None or obj.activated_at is None
        return never_sent and super().has_delete_permission(request, obj)

    @admin.display(description="status")
    def state(self, obj):
        if obj.status == Series.Status.DRAFT:
            return "Draft: a sender activates it (list action) once it is ready."
        # What was activated is what goes out: changing it means approving it again.
        return (
            f"{obj.get_status_display()}: as it was activated. To change it, a sender moves it "
            "back to draft (list action), and activates it again."
        )

    @admin.display(description="steps as saved")
    def accessibility(self, obj):
        """The campaigns' accessibility preflight on each saved step; a sender can still
        activate."""
        if obj is None or obj.pk is None:
            return "Save the series with its steps: they are checked here."
        findings = preflight.check_series(obj)
        return render_to_string("admin/newsletter/campaign/_preflight.html", {"findings": findings})

    @admin.display(description="readers")
    def enrolled(self, obj):
        counts = enrolment_counts(obj)
        return ", ".join(f"{n} {status}" for status, n in counts.items())

    @admin.display(description="per step")
    def per_step(self, obj):
        rows = [
            {
                "counts": counts,
                "report": reverse("admin:newsletter_campaignreport_change", args=[campaign_id])
                if (campaign_id := counts.step.campaign_id)
                else "",
            }
            for counts in step_counts(obj)
        ]
        return render_to_string("admin/newsletter/series/_steps.html", {"rows": rows})

    def _bulk(self, request, queryset, service, done: str, action: str):
        for each in queryset:
            try:
                service(series=each)
            except series.SeriesError as error:
                self.message_user(request, f"“{each}”: {error}", messages.ERROR)
            else:
                target = f"series #{each.pk}"
                audit.record(request.user, f"series {action}", target, request=request)
                self.message_user(request, f"“{each}” {done}.")

    @admin.action(description="Activate (approve and send) selected series", permissions=["send"])
    def activate_selected(self, request, queryset):
        activate = partial(series.series_activate, by=request.user)
        self._bulk(request, queryset, activate, "is active", "activate")

    @admin.action(description="Pause selected series", permissions=["send"])
    def pause_selected(self, request, queryset):
        self._bulk(request, queryset, series.series_pause, "is paused", "pause")

    @admin.action(description="Back to draft, to edit (stops sending)", permissions=["send"])
    def to_draft_selected(self, request, queryset):
        self._bulk(request, queryset, series.series_to_draft, "is a draft again", "to draft")
