"""The database cache's table (engage.cache), used when CACHE_URL is not set: created by
`migrate`, whatever the cache of the moment, so a deployment that drops Redis starts first time."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "engage_cache"


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0060_snapshot_suppression_reasons")]

    operations = [migrations.RunPython(create, drop)]
