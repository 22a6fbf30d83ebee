"""Every model of the app, one module per domain, all re-exported here: `from newsletter.models
import X` works for each. May import nothing else of newsletter."""

from newsletter.models.base import TimeStamped
from newsletter.models.campaigns import (
    DEFAULT_GREETING,
    Campaign,
    CampaignPost,
    CampaignReport,
    CampaignVariant,
    DigestSchedule,
    Snapshot,
)
from newsletter.models.content import Brand, BrandLink, BrandLogo, Image, Post, Reference
from newsletter.models.delivery import Delivery, Wave
from newsletter.models.engagement import (
    Click,
    EventAttendance,
    EventReminder,
    Interest,
    InvolvementInterest,
    PostEngagement,
    Rsvp,
)
from newsletter.models.inbound import InboundMessage, WebhookEvent
from newsletter.models.series import Enrolment, Series, SeriesStep
from newsletter.models.staff import AuditEvent
from newsletter.models.subscribers import (
    ConsentWording,
    SignupRequest,
    Subscriber,
    SubscriberImport,
    Suppression,
    Topic,
)

__all__ = [
    "TimeStamped",
    "Topic",
    "Subscriber",
    "ConsentWording",
    "SignupRequest",
    "Suppression",
    "SubscriberImport",
    "Post",
    "Reference",
    "BrandLogo",
    "Brand",
    "BrandLink",
    "Image",
    "DigestSchedule",
    "DEFAULT_GREETING",
    "Campaign",
    "Snapshot",
    "CampaignPost",
    "CampaignReport",
    "CampaignVariant",
    "Delivery",
    "Wave",
    "Click",
    "PostEngagement",
    "Rsvp",
    "Interest",
    "EventReminder",
    "EventAttendance",
    "InvolvementInterest",
    "WebhookEvent",
    "InboundMessage",
    "AuditEvent",
    "Series",
    "SeriesStep",
    "Enrolment",
]
