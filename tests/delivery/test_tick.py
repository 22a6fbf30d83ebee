"""Beat's tick: one failing job never stops the others."""

import pytest
from django.utils import timezone

from newsletter import tasks
from newsletter.campaigns import digests, scheduling
from newsletter.models import Campaign
from tests.factories import CampaignFactory, PostFactory

pytestmark = pytest.mark.django_db


def test_a_failing_job_does_not_stop_the_jobs_after_it(topics, monkeypatch, caplog):
    campaign = CampaignFactory(topics=[topics["news"]], posts=[PostFactory(topic=topics["news"])])
    scheduling.campaign_schedule(campaign=campaign, at=timezone.now())

    def broken():
        raise RuntimeError("a digest that cannot be composed")

    # The first job of the tick fails on every run.
    monkeypatch.setattr(digests, "run_due_schedules", broken)

    with pytest.raises(tasks.TickFailed, match="broken failed; the other jobs ran"):
        tasks.tick()

    # The due campaign was started all the same, and the failure is in the log.
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING
    assert "a digest that cannot be composed" in caplog.text


def test_a_tick_with_nothing_wrong_raises_nothing():
    tasks.tick()
