from django.conf import settings


def organisation(request):
    return {
        "organisation_name": settings.ORGANISATION_NAME,
        "organisation_address": settings.ORGANISATION_ADDRESS,
        "site_url": settings.SITE_URL,
    }
