"""The accessibility preflight on a series' steps (issue 25): the series page in admin lists what
in each saved step would lock readers out, each finding linked to the step's field, with a short
why, before and after it is activated; a sender can still activate it."""

import pytest
from django.urls import reverse

from newsletter.campaigns import preflight
from newsletter.models import Series, SeriesStep
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def draft(*bodies: str, **step_fields) -> Series:
    made = Series.objects.create(name="Welcome")
    for position, body in enumerate(bodies, start=1):
        SeriesStep.objects.create(
            series=made, position=position, subject=f"Step {position}", body=body, **step_fields
        )
    return made


def test_each_steps_findings_name_the_step_and_link_to_its_text(client, sender, topics):
    made = draft(
        "Welcome! Read our story.",
        "![](https://example.org/IMG_2041.jpg)\n\nTo help, [click here](https://example.org/help).",
    )

    findings = preflight.check_series(made)

    assert [(f.where, f.what) for f in findings] == [
        ("Step 2 “Step 2”", "An image has no alt text (IMG_2041.jpg)."),
        ("Step 2 “Step 2”", "A link says only “click here”."),
    ]
    url = reverse("admin:newsletter_series_change", args=[made.pk])
    assert {f.url for f in findings} == {f"{url}#id_steps-1-body"}

    page = client.get(url).content.decode()
    assert "Accessibility check: 2 findings" in page
    assert f'<a href="{url}#id_steps-1-body">Step 2 “Step 2”</a>' in page
    assert 'id="id_steps-1-body"' in page
    assert "describe the image" in page


def test_a_steps_posts_are_checked_and_linked_to_the_post(client, sender, topics):
    post = PostFactory(
        topic=topics["news"], title="Clinic news", image_url="https://example.org/x.png"
    )
    made = draft("Hello, and welcome.")
    made.steps.get().posts.set([post])

    [finding] = preflight.check_series(made)

    assert finding.where == "Step 1 “Step 1”, post “Clinic news”"
    assert finding.url == reverse("admin:newsletter_post_change", args=[post.pk])


def test_a_clean_series_says_nothing_was_found_and_is_still_checked_once_active(
    client, sender, topics
):
    made = draft("Welcome! Here is what to expect from us.")
    url = reverse("admin:newsletter_series_change", args=[made.pk])
    assert "Accessibility check: nothing found" in client.get(url).content.decode()

    SeriesStep.objects.create(
        series=made, position=2, subject="Later", body="CLICK HERE NOW PLEASE"
    )
    made.status = Series.Status.ACTIVE
    made.save()

    page = client.get(url).content.decode()
    assert "Accessibility check: 1 finding" in page
    assert "A paragraph is in capitals" in page
