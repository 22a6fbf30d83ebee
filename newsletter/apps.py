from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Engage"

    def ready(self):
        from anymail.signals import inbound, tracking

        from .inbound.esp import handle_inbound
        from .webhooks import handle_tracking

        tracking.connect(handle_tracking, dispatch_uid="newsletter.webhooks.handle_tracking")
        inbound.connect(handle_inbound, dispatch_uid="newsletter.inbound.esp.handle_inbound")
