from django.db import migrations

from newsletter.migrations._grants import role_grants

# The look of every email is part of what a sender approves, so senders may change it (and
# superusers, as always). Editors and subscriber managers may not.
CODENAMES = [f"{action}_{model}" for action in ("view", "change") for model in ("brand",)]


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0150_brand")]
    operations = [migrations.RunPython(*role_grants({"sender": CODENAMES}))]
