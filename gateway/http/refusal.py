"""A request refused before, or instead of, execution: an HTTP status, a code and a
message, in the one error envelope clients parse (`{"errors": [{message, extensions}]}`).
Admission (401, 403, 429), the method gate and CORS (405, 403) and the view (400, 413,
415) all answer with it."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from sources.errors import GovgraphError

__all__ = ["Refusal"]


class Refusal(GovgraphError):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry_after: int | None = None,
        allow: str | None = None,
        **extensions: object,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after = retry_after  # seconds, for 429
        self.allow = allow  # the methods the resource answers, for 405
        self.extensions = extensions

    def response(self) -> Response:
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code, **self.extensions}}]}
        headers: dict[str, str] = {}
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="govgraph"'
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        if self.allow is not None:
            headers["Allow"] = self.allow
        if self.status == 413:
            # After a refused body the connection is closed rather than drained: what the
            # client is still sending is not read, let alone kept.
            headers["Connection"] = "close"
        return Response(
            orjson.dumps(body), status_code=self.status, media_type="application/json", headers=headers
        )
