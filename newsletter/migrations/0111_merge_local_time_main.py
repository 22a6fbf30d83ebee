from django.db import migrations


class Migration(migrations.Migration):
    """Local-time sending (0110) after main's editor, images and import migrations."""

    dependencies = [
        ("newsletter", "0110_local_time_sending"),
        ("newsletter", "0121_subject_test_permissions"),
    ]

    operations = []
