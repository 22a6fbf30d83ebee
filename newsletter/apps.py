from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Engage"

    def ready(self):
        from anymail.signals import tracking

        from . import audit
        from .webhooks import handle_tracking

        tracking.connect(handle_tracking, dispatch_uid="newsletter.webhooks.handle_tracking")
        audit.connect()
