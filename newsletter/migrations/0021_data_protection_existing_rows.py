"""Existing rows under the data-protection rules of migration 0020.

- The consent wording shown since 2026-11, kept in the database from now on.
- Tracking: no one was ever asked, so no one's answer is assumed to be yes.
- Suppression hashes were plain SHA-256 of the address; they become keyed (HMAC under
  ADDRESS_HASH_KEY over that SHA-256, see newsletter.subscribers.addresses.suppression_hash), which needs no
  address to convert.
- Webhook event ids ended in a plain SHA-256 of the recipient: re-keyed where the recipient is
  stored, deleted where erasure had already blanked it (a replay of such an event finds no
  subscriber, so it changes nothing). Ids made from a payload hash keep it: the payload is not
  stored, and its timestamps and ids make it no dictionary target. Such rows expire by retention.
"""

import hashlib
import hmac
import re

from django.conf import settings
from django.db import migrations

WORDING = {
    "2026-11": (
        "Yes, email me news, events and ways to get involved for the topics I ticked. I can "
        "unsubscribe at any time with one click, and my address is never shared or sold."
    ),
}

_SUFFIX = re.compile(r"/[0-9a-f]{16}$")


def _keyed(text):
    key = settings.ADDRESS_HASH_KEY.encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def forwards(apps, schema_editor):
    ConsentWording = apps.get_model("newsletter", "ConsentWording")
    Subscriber = apps.get_model("newsletter", "Subscriber")
    Suppression = apps.get_model("newsletter", "Suppression")
    WebhookEvent = apps.get_model("newsletter", "WebhookEvent")
    for version, text in WORDING.items():
        ConsentWording.objects.get_or_create(version=version, defaults={"text": text})
    Subscriber.objects.update(allow_tracking=False)
    for row in Suppression.objects.all().iterator():
        row.email_hash = _keyed(row.email_hash)
        row.save(update_fields=["email_hash"])
    for event in WebhookEvent.objects.filter(event_id__regex=_SUFFIX.pattern).iterator():
        if not event.recipient:
            event.delete()
            continue
        base = _SUFFIX.sub("", event.event_id)
        event.event_id = f"{base}/{_keyed(event.recipient.strip().lower())[:16]}"
        event.save(update_fields=["event_id"])


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0020_data_protection")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
