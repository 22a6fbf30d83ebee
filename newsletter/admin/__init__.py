"""Admin, split by area so each stays readable: subscribers, content and campaigns, delivery."""

from . import audit, campaigns, deliveries, events, inbound, reports, subscribers  # noqa: F401
