from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0154_merge_api_who_failed"),
        ("newsletter", "0153_reader_access"),
    ]
    operations = []
