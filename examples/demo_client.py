"""What every example needs: the gateway's address, a demo client's headers, the demo
city's sample ids, and one GraphQL request by registered document id.

Standard library only. The gateway is `GOVGRAPH_URL` (default http://127.0.0.1:8000,
where `make demo` serves it) or `--url`. Headers come from `govgraph token CLIENT`,
exactly as a person trying the demo gets them; sample ids from `govgraph samples`
(the city in `GOVGRAPH_DATA_DIR`, default `.govgraph`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = [
    "FAILURES",
    "GatewayError",
    "ask",
    "base_parser",
    "document_id",
    "finish",
    "headers",
    "refusals",
    "run",
    "samples",
]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "http://127.0.0.1:8000"
# Codes of what went wrong on the way (docs/errors.md), not a refusal of this client: the
# data may be there another time.
FAILURES = frozenset(
    {
        "SOURCE_UNAVAILABLE",
        "SOURCE_TIMEOUT",
        "SOURCE_CIRCUIT_OPEN",
        "SOURCE_REJECTED",
        "AUDIT_UNAVAILABLE",
        "INTERNAL_SERVER_ERROR",
    }
)


class GatewayError(Exception):
    """No answer: the gateway refused the whole request (HTTP 4xx/5xx; the message carries
    its code) or could not be reached."""


def base_parser(description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--url",
        default=os.environ.get("GOVGRAPH_URL", DEFAULT_URL),
        help="the gateway (default: $GOVGRAPH_URL or %(default)s)",
    )
    return parser


def _govgraph(*args: str) -> str:
    """Run the `govgraph` command of this checkout (the interpreter running this script)."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"govgraph {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def headers(client: str, purpose: str | None = None) -> dict[str, str]:
    """A fresh demo token and the purpose: the two lines `govgraph token CLIENT` prints."""
    lines = _govgraph("token", client, *(["--purpose", purpose] if purpose else [])).splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def samples() -> dict[str, list[str]]:
    """The demo city's sample ids by case (`family_child`, `jimei_household`, ...)."""
    cases: dict[str, list[str]] = json.loads(_govgraph("samples"))["cases"]
    return cases


def document_id(name: str) -> str:
    """The registered (trusted) document's id, from documents/manifest.json."""
    manifest = json.loads((ROOT / "documents" / "manifest.json").read_text(encoding="utf-8"))
    ids = {d["name"]: d["id"] for d in manifest["documents"]}
    return f"sha256:{ids[name]}"


def run(url: str, operation: str, variables: dict[str, Any], sent: dict[str, str]) -> dict[str, Any]:
    """Run the registered operation `operation`; the response body (`data`, `errors`)."""
    body = json.dumps({"documentId": document_id(operation), "variables": variables}).encode()
    request = urllib.request.Request(
        f"{url.rstrip('/')}/graphql",
        data=body,
        headers={"Content-Type": "application/json", **sent},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        refused = json.loads(exc.read() or b"{}").get("errors") or [{"message": exc.reason}]
        code = refused[0].get("extensions", {}).get("code", "")
        raise GatewayError(f"refused: HTTP {exc.code} {code}: {refused[0]['message']}") from None
    except urllib.error.URLError as exc:
        unreached = f"not answered: cannot reach {url} ({exc.reason})"
        raise GatewayError(f"{unreached}; is `make demo` running?") from None
    return answer


def refusals(answer: dict[str, Any]) -> list[str]:
    """One line per error: `refused:` (or `not answered:` for a failure on the way), the
    path, the code and, for FORBIDDEN, the scope."""
    lines = []
    for error in answer.get("errors") or []:
        ext = error.get("extensions", {})
        path = ".".join(str(p) for p in error.get("path") or []) or "(request)"
        detail = ext.get("scope") or ext.get("source") or error["message"]
        word = "not answered" if ext.get("code") in FAILURES else "refused"
        lines.append(f"{word}: {path}: {ext.get('code')} ({detail})")
    return lines


def ask(url: str, operation: str, variables: dict[str, Any], sent: dict[str, str]) -> dict[str, Any] | None:
    """`run`, or None after saying on stderr why the gateway refused the whole request."""
    try:
        return run(url, operation, variables, sent)
    except GatewayError as exc:
        print(exc, file=sys.stderr)
        return None


def finish(answer: dict[str, Any]) -> int:
    """The script's exit status, after saying on stderr what was not answered: 0 for a
    whole answer, 1 when any part was refused or failed (a caller must not take a partial
    answer for a whole one)."""
    lines = refusals(answer)
    for line in lines:
        print(line, file=sys.stderr)
    return 1 if lines else 0
