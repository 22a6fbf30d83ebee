from django.db import migrations

# Series are written like campaigns: editors and senders write them (activating one needs
# send_campaign, checked by the admin); everyone who sees campaigns sees series.
WRITERS = ["add_series", "change_series", "delete_series", "view_series"] + [
    f"{action}_seriesstep" for action in ("add", "change", "delete", "view")
]
ROLES = {"editor": WRITERS, "sender": WRITERS}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="newsletter", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label="newsletter", codename__in=codenames
                )
            )


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0100_series")]
    operations = [migrations.RunPython(grant, revoke)]
