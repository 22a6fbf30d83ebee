"""Giving the staff roles the permissions of new models, for the data migrations that add them.
(A leading underscore: Django's migration loader does not take this module for a migration.)"""


def role_grants(roles: dict[str, list[str]]):
    """RunPython's (forwards, backwards) pair: each role (a group's name) gets its codenames of
    the newsletter app, and loses them when the migration is reversed."""

    def permissions(apps, codenames):
        Permission = apps.get_model("auth", "Permission")
        return Permission.objects.filter(
            content_type__app_label="newsletter", codename__in=codenames
        )

    def forwards(apps, schema_editor):
        from django.contrib.auth.management import create_permissions

        # Permissions are normally created after migrations; make sure they exist now.
        for app_config in apps.get_app_configs():
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None
        Group = apps.get_model("auth", "Group")
        for name, codenames in roles.items():
            group, _ = Group.objects.get_or_create(name=name)
            group.permissions.add(*permissions(apps, codenames))

    def backwards(apps, schema_editor):
        Group = apps.get_model("auth", "Group")
        for name, codenames in roles.items():
            for group in Group.objects.filter(name=name):
                group.permissions.remove(*permissions(apps, codenames))

    return forwards, backwards
