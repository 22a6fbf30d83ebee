"""The development email backend: each message becomes one .eml file in EMAIL_FILE_PATH."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class OutboxBackend(BaseEmailBackend):
    def __init__(self, *, file_path=None, **kwargs):
        super().__init__(**kwargs)
        self.path = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages):
        self.path.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
            # Write then rename, so a reader never sees half a message.
            tmp = self.path / f".{name}.tmp"
            mime = message.message()
            tmp.write_bytes(mime.as_bytes(policy=mime.policy.clone(linesep="\n")))
            tmp.rename(self.path / name)
        return len(email_messages)
