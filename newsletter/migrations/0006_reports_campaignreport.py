from django.db import migrations

# Both staff groups may read campaign reports (numbers only; no addresses are shown).
GROUPS = ["editor", "sender"]


def grant_report_view(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrations; make sure the proxy's exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(
        content_type__app_label="newsletter", codename="view_campaignreport"
    )
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.add(*permission)


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0005_staff_groups"),
    ]

    operations = [
        migrations.CreateModel(
            name="CampaignReport",
            fields=[],
            options={
                "verbose_name": "campaign report",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("newsletter.campaign",),
        ),
        migrations.RunPython(grant_report_view, migrations.RunPython.noop),
    ]
