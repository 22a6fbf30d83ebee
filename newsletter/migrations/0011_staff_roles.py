from django.db import migrations

# The staff roles (README, "Staff roles and sign-in"). Each group gets exactly these permissions.
# Editors write posts and draft campaigns, and see no subscriber's address; senders may also
# schedule, send and watch delivery; subscriber managers keep the list. Superusers do everything.
EDITOR = [
    ("post", ["add", "change", "delete", "view"]),
    ("postengagement", ["add", "change", "delete", "view"]),
    ("reference", ["add", "change", "delete", "view"]),
    ("campaign", ["add", "change", "view"]),
    ("campaignpost", ["add", "change", "delete", "view"]),
    ("campaignreport", ["view"]),
    ("digestschedule", ["view"]),
    ("topic", ["view"]),
]
SENDER = EDITOR + [
    ("campaign", ["send_campaign"]),
    ("digestschedule", ["add", "change", "delete"]),
    ("delivery", ["view", "change"]),
]
SUBSCRIBER_MANAGER = [
    ("subscriber", ["add", "change", "delete", "view", "export_subscribers"]),
    ("topic", ["add", "change", "view"]),
    ("suppression", ["view"]),
    ("inboundmessage", ["view"]),  # bounces and complaints name addresses; raw bytes: superusers
]
ROLES = {"editor": EDITOR, "sender": SENDER, "subscriber manager": SUBSCRIBER_MANAGER}


def _codenames(spec):
    for model, actions in spec:
        for action in actions:
            yield action if "_" in action else f"{action}_{model}"


def set_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, spec in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="newsletter", codename__in=set(_codenames(spec))
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0010_audit_event_and_export_permission"),
    ]
    operations = [migrations.RunPython(set_roles, migrations.RunPython.noop)]
