"""A small HTTP client for tests that go through real servers (nginx, waitress).

Like a browser without JavaScript: it keeps cookies, sends forms, and opens each
request from a chosen loopback address (127.0.0.2, 127.0.0.3…), so that one
machine plays several visitors in front of nginx.
"""

from __future__ import annotations

import http.client
import re
import ssl
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Visitor:
    """One visitor: a source address, a cookie jar, a base URL (http or https)."""

    def __init__(self, base_url: str, *, source: str | None = None, cafile: str | None = None):
        parts = urlsplit(base_url)
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.source = source
        self.cookies: dict[str, str] = {}
        self.context = ssl.create_default_context(cafile=cafile) if cafile else None

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        source = (self.source, 0) if self.source else None
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, source_address=source, context=self.context
            )
        return http.client.HTTPConnection(
            self.host, self.port, timeout=timeout, source_address=source
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Answer:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = self._connection(timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            connection.close()
        for line in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(line).items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def post(self, path: str, data: dict[str, str], **headers: str) -> Answer:
        # A browser sends the page it posts from; over https the CSRF check wants it.
        return self.request(
            "POST",
            path,
            urlencode(data).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": self.origin + path,
                **headers,
            },
        )

    def post_files(
        self, path: str, data: dict[str, str], files: list[tuple[str, str, bytes]], **headers: str
    ) -> Answer:
        """multipart/form-data: fields, then (field, file name, content) parts."""
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in data.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, filename, content in files:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request(
            "POST",
            path,
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}", **headers},
        )

    def token(self, path: str = "/intervenant") -> str:
        """The CSRF token of a page."""
        html = self.get(path).text
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
            r'"X-CSRFToken": "([^"]+)"', html
        )
        assert match, f"no CSRF token in {path}"
        return match.group(1)

    def sign_in(self, email: str, password: str) -> Answer:
        token = self.token("/intervenant")
        return self.post(
            "/intervenant", {"csrf_token": token, "email": email, "password": password}
        )
