"""Every model of the app, one module per domain, all re-exported here: `from newsletter.models
import X` works for each. May import nothing else of newsletter."""

from newsletter.models.api import (
    ApiKey,
    IdempotentRequest,
    OutgoingEvent,
    Scope,
    WebhookDelivery,
    WebhookEndpoint,
)
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
from newsletter.models.delivery import DEFAULT_RAMP, Delivery, SendingProfile, Wave, parse_ramp
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
from newsletter.models.staff import ApprovedTestAddress, AuditEvent
from newsletter.models.subscribers import (
    ConsentWording,
    SignupRequest,
    Subscriber,
    SubscriberImport,
    Suppression,
    Topic,
)

__all__ = [
    "ApprovedTestAddress",
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
    "SendingProfile",
    "DEFAULT_RAMP",
    "parse_ramp",
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
    "Scope",
    "ApiKey",
    "IdempotentRequest",
    "WebhookEndpoint",
    "OutgoingEvent",
    "WebhookDelivery",
]
