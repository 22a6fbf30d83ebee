from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0153_api"),
        ("newsletter", "0153_inbound_who_failed"),
    ]
    operations = []
