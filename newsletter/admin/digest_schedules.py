"""Admin for recurring digests: when each goes out, and composing one now to review."""

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from newsletter.campaigns import digests
from newsletter.models import DigestSchedule
from newsletter.subscribers.timezones import timezone_field


class DigestScheduleForm(forms.ModelForm):
    timezone = timezone_field()

    class Meta:
        model = DigestSchedule
        fields = [
            "name",
            "topics",
            "weekday",
            "time_of_day",
            "timezone",
            "in_reader_zones",
            "subject",
            "intro",
            "is_active",
        ]
        widgets = {"topics": forms.CheckboxSelectMultiple}


@admin.register(DigestSchedule)
class DigestScheduleAdmin(admin.ModelAdmin):
    form = DigestScheduleForm
    list_display = [
        "name",
        "weekday",
        "time_of_day",
        "timezone",
        "in_reader_zones",
        "is_active",
        "next_run",
        "last_run_at",
        "last_outcome",
    ]
    list_filter = ["is_active", "weekday"]
    search_fields = ["name", "subject"]
    readonly_fields = ["next_run", "last_run_at", "last_outcome"]
    actions = ["compose_now"]

    @admin.display(description="next run", ordering="next_run_at")
    def next_run(self, obj):
        if obj.next_run_at is None:
            return "—" if not obj.is_active else "at the next tick"
        local = obj.next_run_at.astimezone(ZoneInfo(obj.timezone))
        return f"{local:%a %d %b %Y, %H:%M} {obj.timezone}"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The beat reads next_run_at on its next tick: no restart needed.
        digests.digest_schedule_refresh(schedule=obj)

    @admin.action(description="Compose a draft digest now, to review", permissions=["change"])
    def compose_now(self, request, queryset):
        # A draft, not a send: staff preview and schedule it; the schedule's own runs go on.
        for schedule in queryset:
            campaign = digests.compose_digest(
                topics=schedule.topics.all(),
                since=None,
                until=timezone.now(),
                subject=schedule.subject,
                intro=schedule.intro,
                schedule=schedule,
            )
            if campaign is None:
                self.message_user(request, f"{schedule.name}: nothing new to send.", messages.INFO)
            else:
                change = reverse("admin:newsletter_campaign_change", args=[campaign.pk])
                self.message_user(
                    request,
                    format_html(
                        '{}: draft <a href="{}">{}</a> composed with {} posts.',
                        schedule.name,
                        change,
                        campaign.subject,
                        campaign.items.count(),
                    ),
                )
