"""Admin, split by area so each stays readable: subscribers, content and campaigns, delivery.

An operator's console over the domain packages: actions and views check a permission
(newsletter.staff.permissions.require) and call a service; above every domain package."""

from . import (  # noqa: F401 (each module registers its admin)
    api,
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
    sending_profiles,
    series,
    subscribers,
    test_list,
)
