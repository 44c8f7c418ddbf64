"""Security headers on every answer Townsquare gives, and `Secure` on its cookies behind https.

One ASGI layer, outside everything else (the fast path, the middlewares' own problems, static
files, Starlette's 500s), so no route has to remember them:

- every answer: `X-Content-Type-Options: nosniff` and `Referrer-Policy`;
- HTML pages: a Content-Security-Policy that lets a page load only what its own server serves,
  with no inline script or style (templates keep theirs in /static), and forbids framing;
- anything else (JSON, feeds, scripts, styles): a policy that allows nothing, in case a browser is
  ever made to open one as a document.
"""

from __future__ import annotations

PAGE_POLICY = (b"default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               b"frame-ancestors 'none'")
NO_DOCUMENT_POLICY = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin")]
PAGES = [(b"x-frame-options", b"DENY")]  # frame-ancestors, for browsers that predate it


class SecurityHeaders:
    def __init__(self, app, secure_cookies: bool):
        self.app, self.secure_cookies = app, secure_cookies

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = self._headers(list(message.get("headers", [])))
            await send(message)

        await self.app(scope, receive, with_headers)

    def _headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        names = {name.lower() for name, _ in headers}
        content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
        page = not content_type or content_type.lower().startswith(b"text/html")
        wanted = ALWAYS + [(b"content-security-policy", PAGE_POLICY if page else NO_DOCUMENT_POLICY)]
        wanted += PAGES if page else []
        headers += [(name, value) for name, value in wanted if name not in names]
        if self.secure_cookies:
            headers = [(name, _secure(value) if name.lower() == b"set-cookie" else value) for name, value in headers]
        return headers


def _secure(cookie: bytes) -> bytes:
    attributes = [part.strip().lower() for part in cookie.split(b";")[1:]]
    return cookie if b"secure" in attributes else cookie + b"; Secure"
