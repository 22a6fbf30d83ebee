"""The campaign admin's forms and its posts inline: compose, preview, test send, a digest."""

from django import forms
from django.core.exceptions import ValidationError

from newsletter.admin import editor, variants
from newsletter.admin.readonly import DraftOnlyInline
from newsletter.campaigns import sendtest
from newsletter.models import Campaign, CampaignPost, Subscriber, Topic
from newsletter.subscribers.addresses import normalise_email

Status = Campaign.Status


class CampaignPostInline(DraftOnlyInline):
    model = CampaignPost
    fields = ["position", "post"]
    ordering = ["position", "id"]
    autocomplete_fields = ["post"]
    extra = 1
    verbose_name = "post"
    verbose_name_plural = "posts, in the order the email shows them (grouped by topic)"


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "subject", "slug", "preheader", "greeting", "intro", "topics", "track_opens",
            "track_clicks",
        ]  # fmt: skip
        fields += variants.FIELDS
        widgets = {"topics": forms.CheckboxSelectMultiple, "intro": editor.MarkdownEditor()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        variants.optional_test_settings(self)

    def clean(self):
        data = super().clean()
        variants.clean_test_settings(self)
        if problem := editor.greeting_problem(data.get("greeting", "")):
            self.add_error("greeting", problem)
        elif problem := editor.doubled_greeting(data.get("greeting", ""), data.get("intro", "")):
            self.add_error("intro", problem)
        return data


class PreviewForm(forms.Form):
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="See the email as a subscriber of these topics sees it.",
    )
    subscriber = forms.EmailField(
        required=False, help_text="Or as this subscriber sees it (their topics and name)."
    )

    def __init__(self, *args, campaign, may_look_up: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = campaign.topics.all()
        if not may_look_up:
            del self.fields["subscriber"]  # an address is not an editor's to look up

    def clean_subscriber(self):
        email = self.cleaned_data["subscriber"].strip().lower()
        if not email:
            return None
        subscriber = Subscriber.objects.filter(email=email).first()
        if subscriber is None:
            raise ValidationError("No subscriber has this address.")
        return subscriber


class SendTestForm(forms.Form):
    addresses = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=(
            f"Up to {sendtest.MAX_ADDRESSES} more addresses, one a line or comma-separated: staff "
            "accounts, or addresses on the test list an administrator keeps (Test recipients)."
        ),
    )
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The sections to include (none ticked: every section).",
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields["topics"].queryset = campaign.topics.all()

    def clean(self):
        data = super().clean()
        slugs = [topic.slug for topic in data.get("topics", [])]
        if problem := sendtest.nothing_to_send(self.campaign, slugs):
            raise ValidationError(problem)
        return data

    def clean_addresses(self):
        raw = self.cleaned_data["addresses"].replace(",", "\n").split()
        if len(set(raw)) > sendtest.MAX_ADDRESSES:
            raise ValidationError(f"At most {sendtest.MAX_ADDRESSES} addresses.")
        addresses = []
        for address in raw:
            try:
                addresses.append(normalise_email(address))
            except ValidationError:
                raise ValidationError(f"“{address}” is not an email address.")
        addresses = list(dict.fromkeys(addresses))
        if errors := sendtest.problems(addresses):
            raise ValidationError(errors)
        return addresses


class DigestForm(forms.Form):
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.all(), widget=forms.CheckboxSelectMultiple
    )
    since = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="Empty: since the last digest of exactly these topics (or the last 7 days).",
    )
    until = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="Empty: now.",
    )
    subject = forms.CharField(max_length=200, initial="News from us, {date}")
    intro = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            self.add_error("until", "The window must end after it starts.")
        return data
