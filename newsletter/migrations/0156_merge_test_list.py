from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0155_merge_reader_access"),
        ("newsletter", "0154_test_list"),
    ]
    operations = []
