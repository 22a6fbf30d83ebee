"""The rendered bodies of a campaign, once per process per (reader's topics, tracked or not)."""

from datetime import datetime

from newsletter.campaigns.snapshot import frozen, render_body
from newsletter.models import Campaign
from newsletter.subscribers import policy

# {campaign id: (its updated_at, {(topics, tracked, variant): body})}. A campaign edited (or moved
# between statuses) since is rendered afresh.
_rendered: dict[int, tuple[datetime, dict]] = {}


class Bodies:
    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        # Only the campaign's own (approved) topics shape a body: readers of news+events and of
        # news+education get the same news-only issue, rendered once.
        self.audience = frozen(campaign).topic_slugs
        cached = _rendered.get(campaign.pk)
        if cached is None or cached[0] != campaign.updated_at:
            if len(_rendered) > 20:
                _rendered.clear()
            cached = _rendered[campaign.pk] = (campaign.updated_at, {})
        self._bodies = cached[1]

    def for_reader(self, subscriber, topics: frozenset[str], variant: str = ""):
        """(body or None when nothing is for them, whether their copy is tracked). `variant`:
        an A/B test's letter (its subject and preheader)."""
        topic_set = topics & self.audience
        # Opens and clicks are tracked only where the campaign asks and the reader allows it.
        tracked = policy.may_track(self.campaign, subscriber)
        key = (topic_set, tracked, variant)
        if key not in self._bodies:
            self._bodies[key] = render_body(
                self.campaign, topic_set, tracked=tracked, variant=variant
            )
        return self._bodies[key], tracked
