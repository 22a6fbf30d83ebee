"""Calendar files for event posts (RFC 5545), built with the icalendar library."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.utils import timezone

from newsletter.content.posts import post_link
from newsletter.models import Post

# An event without an end time is shown as lasting this long.
DEFAULT_DURATION = timedelta(hours=1)


def event_ics(post: Post) -> bytes:
    zone = ZoneInfo(post.timezone)
    starts = post.starts_at.astimezone(zone)
    ends = (post.ends_at or post.starts_at + DEFAULT_DURATION).astimezone(zone)

    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{settings.ORGANISATION_NAME}//Engage//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    # Stable across downloads, so a calendar updates the event instead of adding a twin.
    event.add("uid", f"event-{post.pk}@{settings.LIST_ID}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", starts)
    event.add("dtend", ends)
    event.add("summary", post.title)
    if post.location:
        event.add("location", post.location)
    event.add("url", post.registration_url or post_link(post))
    description = post.summary or post.title
    if post.registration_url:
        description += f"\n\nRegister: {post.registration_url}"
    event.add("description", description)
    calendar.add_component(event)
    # VTIMEZONE for the TZID used above, which RFC 5545 requires.
    calendar.add_missing_timezones()
    return calendar.to_ical()
