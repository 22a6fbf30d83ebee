from django.db import migrations

# Editors and senders write posts, so they also set whether a post takes RSVPs or "count me in".
# (Who may see the attendees is the subscriber-data permission, not this one.)
CODENAMES = [f"{action}_postengagement" for action in ("add", "change", "delete", "view")]


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
    dependencies = [("newsletter", "0040_rsvp_interest")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
