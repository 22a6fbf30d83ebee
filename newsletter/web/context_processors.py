from django.conf import settings

from newsletter.content import brand


def organisation(request):
    look = brand.current()
    return {
        "organisation_name": look["name"],
        "organisation_address": settings.ORGANISATION_ADDRESS,
        "site_url": settings.SITE_URL,
        "brand": look,
    }
