from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Engage"

    def ready(self):
        from anymail.signals import tracking
        from django.db.models.signals import post_delete, post_save

        import engage.checks  # noqa: F401 - registers the deploy checks

        from .joinpage import forget_on_change
        from .models import Topic
        from .webhooks import handle_tracking

        tracking.connect(handle_tracking, dispatch_uid="newsletter.webhooks.handle_tracking")
        # The join form lists the topics: a change to one renders the remembered form afresh.
        post_save.connect(forget_on_change, sender=Topic, dispatch_uid="joinpage-topic-saved")
        post_delete.connect(forget_on_change, sender=Topic, dispatch_uid="joinpage-topic-gone")
