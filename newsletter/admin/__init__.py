"""Admin, split by area so each stays readable: subscribers, content and campaigns, delivery."""

from . import (  # noqa: F401 (each module registers its admin)
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
