"""What keeps the console's pages to themselves: the headers every response carries, the
check that a form was posted by one of our own pages (same origin, the session's CSRF
token), and whether a cookie may go without `Secure` (loopback only)."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["CSP", "HEADERS", "foreign_post", "is_loopback", "matching_token", "secured"]

# Nothing but this origin: no scripts at all, our one stylesheet, forms posted to ourselves.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",  # a page's address (a search, a filter) never leaves it
    "X-Frame-Options": "DENY",  # browsers without frame-ancestors
    "Cache-Control": "no-store",  # personal data stays out of shared and back-button caches
    "X-Content-Type-Options": "nosniff",
}
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def is_loopback(request: Request) -> bool:
    """Served to this machine only: the one case where a session cookie may go over http."""
    return (request.url.hostname or "").lower() in _LOOPBACK


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def foreign_post(request: Request) -> bool:
    """Whether a POST comes from a page of another origin, by what the browser says.

    `Sec-Fetch-Site` is the browser's own statement. `Origin: null` is accepted: under
    `Referrer-Policy: no-referrer` browsers send it for their own same-origin form posts,
    and the CSRF token still has to match. Clients that send neither (scripts) are judged
    by the token alone."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return False
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}".lower() != _origin(request)


def matching_token(expected: str | None, given: object) -> bool:
    """Whether a form's CSRF token is the session's (compared in constant time)."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
