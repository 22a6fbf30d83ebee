"""A/B subject tests: the rules a test must meet, its subjects as frozen, and its figures.

Two to four subjects (CampaignVariant, frozen into the Snapshot) go to a random share of the
audience first, evenly split; after the wait staff choose the winner, or it is picked by click
rate among readers who allow tracking, and the rest of the audience gets the winner. Opens are not
used: mail privacy proxies (Apple Mail Privacy Protection, Gmail's image proxy) fetch every
pixel, so an "open" says little about a reader. The phases themselves (the test's rows, the
winner, the rest) are newsletter.delivery.ab_phases.
"""

import math
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from newsletter.campaigns.when import staff_time
from newsletter.models import Campaign, CampaignVariant, Delivery, Snapshot

MIN_VARIANTS, MAX_VARIANTS = 2, 4
# The rule for calling a winner: a two-proportion z-test (pooled, two-sided) between the two
# best click rates, called below this p-value, and only when each of the two has at least
# MIN_EACH readers who clicked and MIN_EACH who did not (below that, the normal approximation
# the test rests on does not hold).
SIGNIFICANCE = 0.05
MIN_EACH = 5

OPENS_NOTE = (
    "Opens are not used: mail privacy proxies fetch every tracking pixel, so an open does not "
    "mean a reader opened the email. The winner is the variant with the best click rate among "
    "readers who allow tracking."
)

# A campaign whose test went out and whose rest is still owed: it is not finished.
WINNER_OWED = Q(test_share__isnull=False, winner="")


def is_test(campaign: Campaign) -> bool:
    return campaign.test_share is not None


def testing(campaign: Campaign) -> bool:
    """In the test phase: the variants go out (or went), the winner is not chosen yet."""
    return is_test(campaign) and not campaign.winner


def problems(
    *, share: int | None, winner_by: str, track_clicks: bool, variants: int
) -> dict[str, str]:
    """What is wrong with a test as set up, by field (test_share, winner_by, variants)."""
    if share is None:
        if variants:
            return {"test_share": "Give the share of the audience that tests the subjects."}
        return {}
    errors = {}
    if not 1 <= share <= 50:
        errors["test_share"] = "The test share is between 1% and 50% of the audience."
    if not MIN_VARIANTS <= variants <= MAX_VARIANTS:
        errors["variants"] = (
            f"An A/B test has {MIN_VARIANTS} to {MAX_VARIANTS} subjects (it has {variants})."
        )
    if winner_by == Campaign.WinnerBy.CLICKS and not track_clicks:
        errors["winner_by"] = (
            "Picking the winner by click rate needs click tracking: turn it on, or let staff "
            "choose."
        )
    return errors


def campaign_problems(campaign: Campaign) -> list[str]:
    """The test's problems as scheduling lists them."""
    found = problems(
        share=campaign.test_share,
        winner_by=campaign.winner_by,
        track_clicks=campaign.track_clicks,
        variants=campaign.variants.count(),
    )
    return [f"its A/B test: {message[0].lower()}{message[1:]}" for message in found.values()]


def frozen_variants(campaign: Campaign) -> list[dict]:
    """The variants as the Snapshot keeps them."""
    return list(
        CampaignVariant.objects.filter(campaign=campaign)
        .order_by("letter")
        .values("letter", "subject", "preheader")
    )


def with_shown_subject(campaigns):
    """`campaigns` with `shown_subject` and `shown_preheader`: an A/B test's winner's, or the
    campaign's own (a list of issues, such as the archive's)."""
    winner = CampaignVariant.objects.filter(campaign=OuterRef("pk"), letter=OuterRef("winner"))
    return campaigns.annotate(
        shown_subject=Coalesce(Subquery(winner.values("subject")[:1]), F("subject")),
        shown_preheader=Coalesce(Subquery(winner.values("preheader")[:1]), F("preheader")),
    )


def with_received_subject(deliveries):
    """`deliveries` with `received_subject`: the subject each reader got (their variant's, or the
    campaign's), for the reader's own data download."""
    variant = CampaignVariant.objects.filter(
        campaign=OuterRef("campaign"), letter=OuterRef("variant")
    )
    return deliveries.annotate(
        received_subject=Coalesce(Subquery(variant.values("subject")[:1]), F("campaign__subject"))
    )


def test_size(audience: int, share: int, variants: int) -> int:
    """How many readers the test goes to: `share` per cent, at least one per variant."""
    return min(audience, max(variants, (audience * share + 50) // 100))


# --- Figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantFigures:
    letter: str
    subject: str
    recipients: int  # sent in the test
    tracked: int  # of them, readers who allow tracking
    clicked: int  # of those, readers who clicked
    opened: int = 0  # of those, readers whose mail fetched the pixel (a proxy's fetch counts too)

    @property
    def click_rate(self) -> float:
        return self.clicked / self.tracked if self.tracked else 0.0


def figures(campaign: Campaign, snapshot: Snapshot) -> list[VariantFigures]:
    """Each variant's test figures: the rows written with the test (not the rest's)."""
    rows = Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT)
    if campaign.test_sent_at is not None:
        rows = rows.filter(created_at__lte=campaign.test_sent_at)
    tracked = Q(subscriber__allow_tracking=True)
    counts = {
        row["variant"]: row
        for row in rows.values("variant")
        .annotate(
            recipients=Count("pk"),
            tracked=Count("pk", filter=tracked),
            clicked=Count("pk", filter=tracked & Q(clicked_at__isnull=False)),
            opened=Count("pk", filter=tracked & Q(opened_at__isnull=False)),
        )
        .order_by()
    }
    return [
        VariantFigures(
            letter=variant["letter"],
            subject=variant["subject"],
            recipients=counts.get(variant["letter"], {}).get("recipients", 0),
            tracked=counts.get(variant["letter"], {}).get("tracked", 0),
            clicked=counts.get(variant["letter"], {}).get("clicked", 0),
            opened=counts.get(variant["letter"], {}).get("opened", 0),
        )
        for variant in snapshot.variants
    ]


def ranked(results: list[VariantFigures]) -> list[VariantFigures]:
    """Best click rate first; a tie goes to the earlier letter."""
    return sorted(results, key=lambda r: (-r.click_rate, r.letter))


def p_value(a: VariantFigures, b: VariantFigures) -> float | None:
    """Two-sided p-value of a two-proportion z-test of the click rates, or None when either has
    fewer than MIN_EACH clickers or non-clickers (too few for the test to mean anything)."""
    for r in (a, b):
        if r.clicked < MIN_EACH or r.tracked - r.clicked < MIN_EACH:
            return None
    pooled = (a.clicked + b.clicked) / (a.tracked + b.tracked)
    error = math.sqrt(pooled * (1 - pooled) * (1 / a.tracked + 1 / b.tracked))
    if error == 0:
        return 1.0
    z = abs(a.click_rate - b.click_rate) / error
    return math.erfc(z / math.sqrt(2))


def confidence_note(results: list[VariantFigures]) -> str:
    """Whether the figures call a winner, in a sentence that names the rule."""
    if len(results) < 2:
        return ""
    best, second = ranked(results)[:2]
    p = p_value(best, second)
    rule = "two-proportion z-test, called when p < 0.05"
    if p is None:
        return (
            f"Too small to call: each of the two best variants needs at least {MIN_EACH} readers "
            f"who clicked and {MIN_EACH} who did not ({rule})."
        )
    if p >= SIGNIFICANCE:
        return (
            f"Too small to call: {best.letter} and {second.letter} differ by no more than chance "
            f"would explain (p = {p:.2f}; {rule})."
        )
    return f"{best.letter} beats {second.letter} on click rate (p = {p:.3f}; {rule})."


def phase_note(campaign: Campaign) -> str:
    """Where the test stands, for the progress display; "" without a test."""
    if not is_test(campaign):
        return ""
    if campaign.winner:
        return f"A/B test: {campaign.winner} won; the rest of the audience gets it."
    if campaign.test_sent_at is None:
        return f"A/B test: {campaign.test_share}% of the audience gets the variants first."
    how = (
        "picked by click rate"
        if campaign.winner_by == Campaign.WinnerBy.CLICKS
        else "chosen by a sender"
    )
    due = staff_time(campaign.test_sent_at + campaign.test_wait)
    return f"A/B test under way: the winner is {how} from {due}."


def plan_sentence(campaign: Campaign, audience: int) -> str:
    """ "A/B test: 20% (40 people) get A/B/C, winner after 4 hours by click rate, then the rest
    (160)." — for the preview and the confirmation; "" without a test."""
    if not is_test(campaign):
        return ""
    letters = [v.letter for v in campaign.variants.order_by("letter")]
    size = test_size(audience, campaign.test_share, len(letters)) if letters else 0
    hours = campaign.test_wait.total_seconds() / 3600
    wait = f"{hours:g} hour{'s' if hours != 1 else ''}"
    how = (
        "by click rate" if campaign.winner_by == Campaign.WinnerBy.CLICKS else "chosen by a sender"
    )
    return (
        f"A/B test: {campaign.test_share}% ({size} people) get {'/'.join(letters)}, winner after "
        f"{wait} {how}, then the rest ({audience - size})."
    )
