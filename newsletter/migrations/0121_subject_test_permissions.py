from django.db import migrations

from newsletter.migrations._grants import role_grants

# Editors and senders write a campaign's A/B test subjects, as they write its posts. Choosing the
# winner is sending (newsletter.send_campaign), not this.
CODENAMES = [f"{action}_campaignvariant" for action in ("add", "change", "delete", "view")]


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0120_subject_test")]
    operations = [migrations.RunPython(*role_grants({"editor": CODENAMES, "sender": CODENAMES}))]
