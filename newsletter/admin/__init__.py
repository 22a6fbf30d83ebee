"""Admin, split by area so each stays readable: subscribers, content and campaigns, delivery."""

from newsletter.admin import (
    audit,
    brand,
    campaigns,
    deliveries,
    digest_schedules,
    events,
    images,
    inbound,
    posts,
    reports,
    series,
    subscribers,
)
