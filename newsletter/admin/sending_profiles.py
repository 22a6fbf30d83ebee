"""Sending profiles: whether a From domain (and the mail service it goes through) is new, and its
daily ramp while it warms up (newsletter.delivery.warmup).

Superusers keep them; senders may look (migration 0158), to see why a campaign goes over days.
"""

from django import forms
from django.contrib import admin
from django.utils import timezone

from newsletter.models import SendingProfile, parse_ramp


class SendingProfileForm(forms.ModelForm):
    class Meta:
        model = SendingProfile
        fields = ["name", "domain", "warming_up_since", "ramp"]
        widgets = {"ramp": forms.Textarea(attrs={"rows": 2, "cols": 80})}

    def clean_ramp(self) -> str:
        """Stored as written out plainly: "50, 100, 500"."""
        return ", ".join(str(day) for day in parse_ramp(self.cleaned_data["ramp"]))


@admin.register(SendingProfile)
class SendingProfileAdmin(admin.ModelAdmin):
    form = SendingProfileForm
    list_display = ["__str__", "covers", "today"]

    @admin.display(description="From domain")
    def covers(self, profile: SendingProfile) -> str:
        return profile.domain or "any without a profile of its own (default)"

    @admin.display(description="Today")
    def today(self, profile: SendingProfile) -> str:
        day = timezone.localdate()
        limit = profile.allowance(day)
        if limit is None:
            if profile.warming_up_since and day < profile.warming_up_since:
                return f"Not begun: warming up from {profile.warming_up_since:%-d %B %Y}"
            return "Warmed up: no daily limit"
        number = (day - profile.warming_up_since).days + 1
        return f"Warming up, day {number}: {limit:,} messages today"
