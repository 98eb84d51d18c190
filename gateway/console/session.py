"""The console's session: a signed cookie holding who is signed in, the CSRF token every
form must return, and a message to show once after a redirect (a flash).

Nothing is kept on the server: the cookie is signed with `[console] session_secret`
(itsdangerous), re-issued on every page, and refused once `session_minutes` have passed
since it was last issued. Roles are not in it: they are read from the policy store on
every request, so a role taken away counts at once. A visitor who has not signed in has an
anonymous session (no subject) so that the sign-in form has a CSRF token too.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from gateway.console.security import is_loopback

__all__ = ["COOKIE", "MIN_SECRET", "Flash", "Session", "SessionCodec"]

COOKIE = "govgraph_console"
MIN_SECRET = 32  # characters: a shorter key is refused, not used
_SALT = "govgraph.console.session"


@dataclass(frozen=True)
class Flash:
    """A message for the next page: what a form did, or the code and message it was refused with."""

    kind: str  # ok | error
    message: str
    code: str | None = None


@dataclass(frozen=True)
class Session:
    csrf: str
    subject: str | None = None  # None: not signed in
    name: str = ""
    flash: Flash | None = None

    @classmethod
    def fresh(cls, subject: str | None = None, name: str = "") -> Session:
        """A new session with a new CSRF token: at sign-in and sign-out the token changes."""
        return cls(secrets.token_urlsafe(32), subject, name)

    @property
    def signed_in(self) -> bool:
        return self.subject is not None

    def taking_flash(self) -> tuple[Flash | None, Session]:
        return self.flash, replace(self, flash=None)


class SessionCodec:
    def __init__(self, secret: str, minutes: int, path: str) -> None:
        if len(secret) < MIN_SECRET:
            raise ValueError(f"the session secret needs {MIN_SECRET} characters or more")
        self._serializer = URLSafeSerializer(secret, salt=_SALT)
        self.seconds, self.path = minutes * 60, path

    def encode(self, session: Session, now: float | None = None) -> str:
        flash = session.flash
        return self._serializer.dumps(
            {
                "c": session.csrf,
                "s": session.subject,
                "n": session.name,
                "f": None if flash is None else [flash.kind, flash.message, flash.code],
                "t": int(time.time() if now is None else now),
            }
        )

    def decode(self, value: str, now: float | None = None) -> Session | None:
        """The session a cookie holds; None when it is forged, malformed or has expired."""
        try:
            data = self._serializer.loads(value)
            issued = int(data["t"])
            if (time.time() if now is None else now) - issued > self.seconds:
                return None
            flash = data["f"]
            return Session(
                csrf=str(data["c"]),
                subject=None if data["s"] is None else str(data["s"]),
                name=str(data["n"]),
                flash=None if flash is None else Flash(str(flash[0]), str(flash[1]), flash[2]),
            )
        except (BadSignature, KeyError, TypeError, ValueError, IndexError):
            return None

    def read(self, request: Request) -> tuple[Session | None, bool]:
        """The request's session, and whether it had a cookie that is no longer good."""
        value = request.cookies.get(COOKIE)
        if not value:
            return None, False
        session = self.decode(value)
        return session, session is None

    def write(self, response: Response, request: Request, session: Session | None) -> None:
        """Issue `session` again (its clock restarts), or end it (None)."""
        secure = not is_loopback(request)
        if session is None:
            response.delete_cookie(COOKIE, path=self.path, secure=secure, httponly=True, samesite="strict")
            return
        response.set_cookie(
            COOKIE,
            self.encode(session),
            max_age=self.seconds,
            path=self.path,
            secure=secure,
            httponly=True,
            samesite="strict",
        )
