"""A small HTTP client for a real server on loopback: keeps cookies itself (Django marks them
Secure with DEBUG off; the test server speaks plain HTTP) and posts forms with their CSRF token."""

import html
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookies import SimpleCookie


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class WebClient:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.cookies: dict[str, str] = {}
        self._opener = urllib.request.build_opener(_NoRedirects)

    def request(self, method: str, url: str, *, data: bytes | None = None, headers=None):
        """(status, headers, body as text); `url` is a path or a full URL."""
        url = url if url.startswith("http") else self.base + url
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            response = self._opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.headers, response.read().decode(errors="replace")

    def get(self, url: str):
        return self.request("GET", url)

    def post_json(self, url: str, payload: dict):
        body = json.dumps(payload).encode()
        return self.request("POST", url, data=body, headers={"Content-Type": "application/json"})

    def post_form(self, url: str, fields: dict, *, page: str | None = None):
        """POST `fields` with the CSRF token of `page` (fetched from `url` when not given)."""
        if page is None:
            status, _, page = self.get(url)
            assert status == 200, (url, status)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token:
            fields = {**fields, "csrfmiddlewaretoken": html.unescape(token.group(1))}
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", url, data=body, headers=headers)
