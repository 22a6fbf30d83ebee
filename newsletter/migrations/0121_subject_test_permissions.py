from django.db import migrations

# Editors and senders write a campaign's A/B test subjects, as they write its posts. Choosing the
# winner is sending (newsletter.send_campaign), not this.
CODENAMES = [f"{action}_campaignvariant" for action in ("add", "change", "delete", "view")]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="newsletter", codename__in=CODENAMES
    )
    for group in Group.objects.filter(name__in=["editor", "sender"]):
        group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0120_subject_test")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
