from django.db import migrations

# Editors write posts and draft campaigns; senders may also schedule and send them.
EDITOR = [
    ("post", ["add", "change", "delete", "view"]),
    ("reference", ["add", "change", "delete", "view"]),
    ("campaign", ["add", "change", "view"]),
    ("campaignpost", ["add", "change", "delete", "view"]),
    ("digestschedule", ["view"]),
    ("topic", ["view"]),
    ("subscriber", ["view"]),
    ("delivery", ["view"]),
]
SENDER_EXTRA = [
    ("campaign", ["send"]),
    ("digestschedule", ["add", "change", "delete"]),
    ("delivery", ["change"]),
]


def _codenames(spec):
    for model, actions in spec:
        for action in actions:
            yield "send_campaign" if action == "send" else f"{action}_{model}"


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editor_codes = set(_codenames(EDITOR))
    sender_codes = editor_codes | set(_codenames(SENDER_EXTRA))
    for name, codes in (("editor", editor_codes), ("sender", sender_codes)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="newsletter", codename__in=codes)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0004_campaign_send_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
