from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0156_merge_test_list"),
        ("newsletter", "0154_webhook_event_diagnostic"),
    ]
    operations = []
