"""Who may do what in admin: the permission names the staff roles are made of (granted by the
migrations, see newsletter/migrations/_grants.py) and the one check that views and actions ask.

Django offers an admin action without `permissions=` to anyone who may view the list, so every
action names one, and every custom admin view calls `require` first.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q

SEND_CAMPAIGN = "newsletter.send_campaign"
ADD_CAMPAIGN = "newsletter.add_campaign"
VIEW_CAMPAIGN = "newsletter.view_campaign"
VIEW_POST = "newsletter.view_post"
VIEW_SUBSCRIBER = "newsletter.view_subscriber"
ADD_SUBSCRIBER = "newsletter.add_subscriber"
EXPORT_SUBSCRIBERS = "newsletter.export_subscribers"
VIEW_INBOUND_RAW = "newsletter.view_inbound_raw"
VIEW_BRAND = "newsletter.view_brand"
CHANGE_BRAND = "newsletter.change_brand"


def require(request, permission: str) -> None:
    """403 unless the signed-in user holds `permission` (one of the names above)."""
    if not request.user.has_perm(permission):
        raise PermissionDenied


def holders(permission: str):
    """Active staff who hold `permission`: superusers, and those granted it directly or through a
    group (whom to tell about something that needs that permission)."""
    app_label, codename = permission.split(".")
    granted = Q(
        user_permissions__codename=codename,
        user_permissions__content_type__app_label=app_label,
    ) | Q(
        groups__permissions__codename=codename,
        groups__permissions__content_type__app_label=app_label,
    )
    staff = get_user_model().objects.filter(is_active=True, is_staff=True)
    return staff.filter(Q(is_superuser=True) | granted).distinct()


class SendPermission:
    """For a ModelAdmin whose actions are declared with permissions=["send"]: they change when or
    whether mail goes out, so they are a sender's."""

    def has_send_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(SEND_CAMPAIGN)
