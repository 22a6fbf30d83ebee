from django.db import migrations

# The look of every email is part of what a sender approves, so senders may change it (and
# superusers, as always). Editors and subscriber managers may not.
CODENAMES = [f"{action}_{model}" for action in ("view", "change") for model in ("brand",)]


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
    for group in Group.objects.filter(name="sender"):
        group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0150_brand")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
