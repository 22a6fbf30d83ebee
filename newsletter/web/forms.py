"""The join form (HTML and JSON share its rules) and the preference centre's form."""

import functools

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from newsletter.mail import access
from newsletter.models import ConsentWording, Subscriber, Topic
from newsletter.subscribers.addresses import clean_name, normalise_email
from newsletter.subscribers.timezones import known_zone, timezone_field

# Shown next to the tracking box on the join form and in the preference centre.
TRACKING_LABEL = "Let us see which emails I open and links I click (optional)"


def access_field() -> forms.MultipleChoiceField:
    """How the reader reads our emails (newsletter.mail.access): optional, none ticked."""
    return forms.MultipleChoiceField(
        label="How you read our emails (optional)",
        choices=access.CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def consent_wording(version: str | None = None) -> str:
    """The words of a consent version (newsletter.models.ConsentWording)."""
    return _wording(version or settings.CONSENT_VERSION)


@functools.lru_cache(maxsize=16)
def _wording(version: str) -> str:
    # A version's words never change once used, so one lookup per process is enough.
    text = ConsentWording.objects.filter(version=version).values_list("text", flat=True).first()
    if text is None:
        raise ImproperlyConfigured(f"No ConsentWording for CONSENT_VERSION={version!r}.")
    return text


class TopicsField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            queryset=Topic.objects.all(),
            to_field_name="slug",
            widget=forms.CheckboxSelectMultiple,
            error_messages={
                "required": "Choose at least one topic.",
                "invalid_choice": "Unknown topic “%(value)s”.",
                "invalid_list": "Topics must be a list of topic names.",
            },
            **kwargs,
        )

    def label_from_instance(self, topic):
        return topic.name


class BrowserZoneField(forms.Field):
    """The browser's own zone, filled in by static/join-zone.js (empty without JavaScript: the
    organisation's). Not the person's to fix, so whatever is not a known zone is dropped, never
    an error."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def clean(self, value):
        return known_zone(value)


class JoinForm(forms.Form):
    email = forms.CharField(
        label="Email address",
        strip=False,
        error_messages={"required": "Enter your email address."},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "maxlength": 254}),
    )
    first_name = forms.CharField(
        label="First name (optional)",
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "maxlength": 100}),
    )
    topics = TopicsField(label="What would you like to hear about?")
    consent = forms.BooleanField(
        error_messages={"required": "Please tick the box to agree, so we may email you."}
    )
    # Asked, never assumed: unticked unless the person ticks it.
    allow_tracking = forms.BooleanField(label=TRACKING_LABEL, required=False)
    access = access_field()
    time_zone = BrowserZoneField()
    # The honeypot: hidden from people (CSS and aria-hidden), filled in by naive bots.
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:  # a submitted form never shows its initial values
            self.fields["topics"].initial = list(Topic.objects.values_list("slug", flat=True))
        self.fields["consent"].label = consent_wording()

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])

    def clean_first_name(self):
        return clean_name(self.cleaned_data["first_name"])

    # Set by validate_api_payload when the JSON names no topics: every topic, as the API promises.
    every_topic = False

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def topic_slugs(self) -> list[str] | None:
        """The chosen slugs, or None for every topic (what signups.signup_request expects)."""
        if self.every_topic:
            return None
        return [topic.slug for topic in self.cleaned_data["topics"]]


def validate_api_payload(payload) -> tuple[JoinForm | None, dict[str, list[str]]]:
    """Validate a decoded JSON body for POST /api/subscribe/: the bound form, or field errors.

    JSON brings types a form never sees (numbers, lists, null), so they are checked first; then
    the same rules as the HTML form apply. Topics left out mean every topic; `access` is the
    form's optional list of reading preferences (newsletter.mail.access.FIELDS)."""
    if not isinstance(payload, dict):
        return None, {"body": ["Send a JSON object."]}
    errors = {}
    email = payload.get("email")
    if email is not None and not isinstance(email, str):
        errors["email"] = ["Enter a valid email address."]
    first_name = payload.get("first_name")
    if first_name is not None and not isinstance(first_name, str):
        errors["first_name"] = ["Enter your first name as text."]
    topics = payload.get("topics")
    if topics is not None and not (
        isinstance(topics, list)
        and all(isinstance(slug, str) and slug.isprintable() for slug in topics)
    ):
        errors["topics"] = ["Topics must be a list of topic names."]
    consent = payload.get("consent")
    if consent is not True:
        errors["consent"] = ['Consent is required: send "consent": true.']
    allow_tracking = payload.get("allow_tracking", False)
    if not isinstance(allow_tracking, bool):
        errors["allow_tracking"] = ["Send true or false (leave it out for false)."]
    time_zone = payload.get("time_zone", "")
    if not isinstance(time_zone, str) or (time_zone and not known_zone(time_zone)):
        errors["time_zone"] = ["Send an IANA time zone name, e.g. Europe/London (or leave it out)."]
    chosen = payload.get("access", [])
    if not (isinstance(chosen, list) and all(isinstance(name, str) for name in chosen)):
        errors["access"] = [f"Send a list of any of {', '.join(access.FIELDS)} (or leave it out)."]
    if errors:
        return None, errors
    form = JoinForm(
        data={
            "email": email or "",
            "first_name": first_name or "",
            "topics": topics or [],
            "consent": True,
            "allow_tracking": allow_tracking,
            "time_zone": time_zone,
            "access": chosen,
        }
    )
    if topics is None:
        # Nothing to check, and no need to look the topics up twice: subscribe() takes them all.
        form.fields["topics"].required = False
        form.every_topic = True
    if not form.is_valid():
        return None, {field: list(messages) for field, messages in form.errors.items()}
    return form, {}


class PreferencesForm(forms.Form):
    first_name = forms.CharField(
        label="First name",
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "maxlength": 100}),
    )
    topics = TopicsField(label="Topics", required=False)
    allow_tracking = forms.BooleanField(label=TRACKING_LABEL, required=False)
    access = access_field()
    emails = forms.ChoiceField(
        label="How many emails",
        choices=[
            ("all", "Everything on my topics"),
            ("digest", "Digests only (a round-up now and then, no one-off emails)"),
        ],
        initial="all",
        required=False,
        widget=forms.RadioSelect,
    )
    # The page shows this box rather than the two radio buttons above: a switch that only moves
    # (Tab) and presses (Enter) never reaches a radio button that is not already chosen.
    digest = forms.BooleanField(
        label="Digests only: a round-up now and then, no one-off emails", required=False
    )
    time_zone = timezone_field(
        label="Your time zone",
        required=False,  # a form posted without it (a script, an old page) keeps the zone
        help_text="Emails sent “at 9:00 in each reader's time zone” reach you at 9:00 here.",
        error_messages={"invalid_choice": "Choose a time zone from the list."},
        # static/zone-picker.js adds a search field (the grouped list works without it).
        widget=forms.Select(attrs={"data-zone-picker": ""}),
    )

    def clean_first_name(self):
        return clean_name(self.cleaned_data["first_name"])

    def topic_slugs(self) -> list[str]:
        return [topic.slug for topic in self.cleaned_data["topics"]]

    @property
    def digest_only(self) -> bool:
        # A form posted without either (a script, an old page) keeps to everything.
        return self.cleaned_data["digest"] or self.cleaned_data["emails"] == "digest"


class LeavingForm(forms.Form):
    """Why a reader unsubscribes from the preference centre: optional, both parts."""

    reason = forms.ChoiceField(
        label="Would you tell us why? (optional)",
        choices=Subscriber.LeavingReason.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="Anything else (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}),
    )


class GuestRsvpForm(forms.Form):
    """A visitor's answer from the public event page: their link is emailed to this address."""

    email = JoinForm.base_fields["email"]
    first_name = JoinForm.base_fields["first_name"]
    join = forms.BooleanField(required=False)
    website = JoinForm.base_fields["website"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["join"].label = "Also join our newsletter. " + consent_wording()

    def clean_email(self):
        return normalise_email(self.cleaned_data["email"])

    def clean_first_name(self):
        return clean_name(self.cleaned_data["first_name"])

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))
