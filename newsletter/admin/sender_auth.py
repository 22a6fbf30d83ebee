"""The sender authentication page: what Gmail, Yahoo and Outlook.com require of the From domain,
looked up now (newsletter.sender_auth), with what is missing in plain words. A sender's page: they
decide whether mail goes out."""

from django.template.response import TemplateResponse

from newsletter.mail import sender_auth
from newsletter.staff import permissions


def sender_authentication_view(model_admin, request):
    permissions.require(request, permissions.SEND_CAMPAIGN)
    domain = sender_auth.from_domain()
    found = [] if sender_auth.is_example(domain) else sender_auth.checks(domain)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Sender authentication for {domain}",
        "opts": model_admin.opts,
        "domain": domain,
        "example": sender_auth.is_example(domain),
        "checks": found,
        "missing": [check for check in found if not check.ok],
    }
    return TemplateResponse(
        request, "admin/newsletter/campaign/sender_authentication.html", context
    )
