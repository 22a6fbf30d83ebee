from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Engage"

    def ready(self):
        from anymail.signals import inbound, tracking
        from django.db.backends.signals import connection_created

        from .addresses import register_sqlite_functions
        from .inbound.esp import handle_inbound
        from .webhooks import handle_tracking

        tracking.connect(handle_tracking, dispatch_uid="newsletter.webhooks.handle_tracking")
        inbound.connect(handle_inbound, dispatch_uid="newsletter.inbound.esp.handle_inbound")
        connection_created.connect(
            register_sqlite_functions, dispatch_uid="newsletter.addresses.sqlite_functions"
        )
