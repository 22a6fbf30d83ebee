# Campaign.kind replaces is_digest and the guesses from rows that point at a campaign; campaigns
# scheduled before snapshots existed are frozen here, so reading a campaign never writes.

from django.db import migrations, models

KINDS = {  # kind: how the rows said it before
    "digest": lambda Campaign: Campaign.objects.filter(
        models.Q(is_digest=True) | models.Q(digest_schedule__isnull=False)
    ),
    "series_step": lambda Campaign: Campaign.objects.filter(series_step__isnull=False),
    "event_reminder": lambda Campaign: Campaign.objects.filter(event_reminder__isnull=False),
}


def set_kinds(apps, schema_editor):
    Campaign = apps.get_model("newsletter", "Campaign")
    for kind, rows in KINDS.items():
        rows(Campaign).update(kind=kind)


def set_is_digest(apps, schema_editor):
    Campaign = apps.get_model("newsletter", "Campaign")
    Campaign.objects.filter(kind="digest").update(is_digest=True)


def freeze_unfrozen(apps, schema_editor):
    """What frozen() did at a campaign's first read: a campaign that left draft before snapshots
    existed (and was not cancelled) gets the snapshot of its content as it stands."""
    from newsletter.campaigns.snapshot import snapshot_fields
    from newsletter.models import Post as CurrentPost

    Campaign = apps.get_model("newsletter", "Campaign")
    Post = apps.get_model("newsletter", "Post")
    Snapshot = apps.get_model("newsletter", "Snapshot")
    CampaignVariant = apps.get_model("newsletter", "CampaignVariant")
    # The fragments ask a post what it takes from readers; these read only fields.
    for name in ("engagement_or_none", "rsvps_close_at", "takes_answers", "takes_interest"):
        setattr(Post, name, getattr(CurrentPost, name))
    unfrozen = Campaign.objects.filter(snapshot__isnull=True).exclude(status__in=["draft", "cancelled"])
    for campaign in unfrozen.iterator():
        items = campaign.items.select_related("post__topic").order_by("position", "id")
        variants = list(
            CampaignVariant.objects.filter(campaign=campaign)
            .order_by("letter")
            .values("letter", "subject", "preheader")
        )
        fields = snapshot_fields(
            campaign,
            topics=campaign.topics.all(),
            posts=[item.post for item in items],
            variants=variants,
        )
        Snapshot.objects.create(campaign=campaign, brand={}, **fields)


class Migration(migrations.Migration):

    dependencies = [
        ('newsletter', '0151_brand_permissions'),
    ]

    operations = [
        migrations.AddField(
            model_name='campaign',
            name='kind',
            field=models.CharField(choices=[('campaign', 'Campaign'), ('digest', 'Digest'), ('series_step', 'Series step'), ('event_reminder', 'Event reminder')], default='campaign', editable=False, max_length=20),
        ),
        migrations.RunPython(set_kinds, set_is_digest),
        # Backwards the snapshots stay: they are what the old code would have frozen on first read.
        migrations.RunPython(freeze_unfrozen, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='campaign',
            name='is_digest',
        ),
    ]
