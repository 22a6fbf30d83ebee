"""Admin, split by area so each stays readable: subscribers, content and campaigns, delivery."""

from . import campaigns, deliveries, events, reports, subscribers  # noqa: F401
