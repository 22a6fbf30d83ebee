"""Admin for A/B subject tests: the variants inline (drafts only, editors and senders), the test's
settings and their checks, and a sender's choice of the winner."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse

from newsletter.admin.readonly import DraftOnlyInline
from newsletter.campaigns import abtest
from newsletter.campaigns.snapshot import frozen
from newsletter.delivery import ab_phases
from newsletter.delivery.ab_phases import NotChoosable, choose_winner
from newsletter.models import Campaign, CampaignVariant
from newsletter.staff import audit, permissions

FIELDS = ["test_share", "test_wait", "winner_by"]
FIELDSET = (
    "A/B subject test",
    {
        "fields": FIELDS,
        "classes": ["collapse"],
        "description": (
            "Give two to four subjects below and a test share: that share of the audience, "
            "split at random and evenly, gets the variants first, and after the wait the rest "
            f"gets the winner. {abtest.OPENS_NOTE}"
        ),
    },
)


class VariantFormSet(BaseInlineFormSet):
    def clean(self):
        # Counted before the rows' own checks, so five subjects are refused as five.
        count = sum(
            1
            for form in self.forms
            if (form.has_changed() or form.instance.pk) and not self._should_delete_form(form)
        )
        # The campaign form has already put the submitted settings on the instance.
        campaign = self.instance
        found = abtest.problems(
            share=campaign.test_share,
            winner_by=campaign.winner_by,
            track_clicks=campaign.track_clicks,
            variants=count,
        )
        message = found.get("variants")
        if campaign.test_share is None:
            # A share that was given but refused has its own error on the campaign form.
            message = None if self.data.get("test_share") else found.get("test_share")
        if message:
            raise ValidationError(message)
        super().clean()


class CampaignVariantInline(DraftOnlyInline):
    model = CampaignVariant
    formset = VariantFormSet
    fields = ["letter", "subject", "preheader"]
    extra = 0
    max_num = abtest.MAX_VARIANTS
    verbose_name = "A/B test subject"
    verbose_name_plural = "A/B test subjects (two to four; none: no test)"


def optional_test_settings(form) -> None:
    """A campaign without a test need not give its wait or how its winner is picked."""
    for name in ("test_wait", "winner_by"):
        if name in form.fields:  # absent from a read-only page
            form.fields[name].required = False


def clean_test_settings(form) -> None:
    """The campaign form's share of the checks (the variants' count is the inline's); a wait or
    winner rule left empty is the default."""
    data = form.cleaned_data
    for name in ("test_wait", "winner_by"):
        if name in data and not data[name]:
            data[name] = Campaign._meta.get_field(name).default
    found = abtest.problems(
        share=data.get("test_share"),
        winner_by=data.get("winner_by"),
        track_clicks=data.get("track_clicks", False),
        variants=abtest.MIN_VARIANTS,
    )
    if "winner_by" in found:
        form.add_error("winner_by", found["winner_by"])


def winner_view(model_admin, request, object_id: int, letter: str):
    """GET: the test's figures and the question ("Send B to the rest: 12 more people?"); POST: a
    sender's choice of the winner, and the rest of the audience gets it."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    campaign = get_object_or_404(Campaign, pk=object_id)
    permissions.require(request, permissions.SEND_CAMPAIGN)
    change = reverse("admin:newsletter_campaign_change", args=[campaign.pk])
    if request.method != "POST":
        if not choosable(campaign, letter):
            model_admin.message_user(
                request, f"Variant {letter} cannot be sent to the rest now.", messages.ERROR
            )
            return HttpResponseRedirect(change)
        return model_admin._render(
            request, campaign, "confirm_winner.html", confirmation(campaign, letter)
        )
    try:
        choose_winner(campaign=campaign, letter=letter)
    except NotChoosable as error:
        model_admin.message_user(request, str(error), messages.ERROR)
    else:
        target = f"campaign #{campaign.pk}"
        audit.record(request.user, "choose winner", target, request=request, winner=letter)
        model_admin.message_user(request, f"{letter} won: the rest of the audience gets it.")
    return HttpResponseRedirect(change)


def choosable(campaign: Campaign, letter: str) -> bool:
    """What the page offers: a variant of a test whose share went out and has no winner yet
    (choose_winner checks the same again as it records the choice)."""
    return (
        abtest.testing(campaign)
        and campaign.test_sent_at is not None
        and campaign.status in (Campaign.Status.SENDING, Campaign.Status.PAUSED)
        and campaign.variants.filter(letter=letter).exists()
    )


def confirmation(campaign: Campaign, letter: str) -> dict:
    """What a sender reads before the winner goes to the rest: each variant's figures."""
    variants = abtest.figures(campaign, frozen(campaign))
    phases = ab_phases.phases(campaign)
    rest = phases.rest_total if phases else 0
    people = "1 more person" if rest == 1 else f"{rest} more people"
    return {
        "title": f"Send {letter} to the rest: {campaign.subject}",
        "question": f"Send {letter} to the rest of the audience: {people}?",
        "letter": letter,
        "variants": variants,
        "phases": phases,
        "note": abtest.confidence_note(variants),
        "opens_note": abtest.OPENS_NOTE,
    }
