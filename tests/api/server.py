"""The production web process for the API's tests, on the test database, with a JSON client."""

import json

from tests.production_web import ProductionWeb
from tests.support import database_url


class ApiWeb(ProductionWeb):
    def __init__(self, *, email_url: str, **env):
        # Confirmation emails go out from the web process: no worker, no task left behind.
        super().__init__(
            database_url=database_url(), email_url=email_url, CELERY_TASK_ALWAYS_EAGER="true", **env
        )

    def call(self, method: str, path: str, body=None, *, key: str | None = None, headers=None):
        """(status, headers, decoded JSON or None) for any status."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if key:
            sent["Authorization"] = f"Bearer {key}"
        status, got, text = self.request(method, path, data, sent)
        return status, got, json.loads(text) if text else None
