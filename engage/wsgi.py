import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engage.settings")
application = get_wsgi_application()

from engage import identity  # noqa: E402 - needs the settings loaded above

identity.require()
