from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Engage"

    def ready(self):
        from anymail.signals import inbound, tracking
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_delete, post_save

        import engage.checks  # noqa: F401 - registers the deploy checks
        from newsletter.inbound.esp import handle_inbound
        from newsletter.inbound.webhooks import handle_tracking
        from newsletter.models import Brand, BrandLink, BrandLogo, ConsentWording, Topic
        from newsletter.staff import audit
        from newsletter.subscribers.addresses import register_sqlite_functions
        from newsletter.web.joinpage import forget_on_change

        tracking.connect(
            handle_tracking, dispatch_uid="newsletter.inbound.webhooks.handle_tracking"
        )
        inbound.connect(handle_inbound, dispatch_uid="newsletter.inbound.esp.handle_inbound")
        connection_created.connect(
            register_sqlite_functions,
            dispatch_uid="newsletter.subscribers.addresses.sqlite_functions",
        )
        # The join form shows the topics, the consent wording and the brand: a change to any renders
        # the remembered form afresh.
        for model in (Topic, ConsentWording, Brand, BrandLink, BrandLogo):
            post_save.connect(
                forget_on_change, sender=model, dispatch_uid=f"joinpage-{model}-saved"
            )
            post_delete.connect(
                forget_on_change, sender=model, dispatch_uid=f"joinpage-{model}-gone"
            )
        audit.connect()
