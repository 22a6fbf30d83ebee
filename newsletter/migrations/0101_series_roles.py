from django.db import migrations

from newsletter.migrations._grants import role_grants

# Series are written like campaigns: editors and senders write them (activating one needs
# send_campaign, checked by the admin); everyone who sees campaigns sees series.
WRITERS = ["add_series", "change_series", "delete_series", "view_series"] + [
    f"{action}_seriesstep" for action in ("add", "change", "delete", "view")
]
ROLES = {"editor": WRITERS, "sender": WRITERS}


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0100_series")]
    operations = [migrations.RunPython(*role_grants(ROLES))]
