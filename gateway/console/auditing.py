"""The auditor's page: the access log of one person or enterprise (the id typed in is
posted, not put in an address, and looked up by its keyed hash as the log stores it), the
access log of one client, and the state of the audit chains (verified on request: it reads
the whole log). Looking a person up is audited like any access to them."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from gateway.applications.errors import WorkflowError
from gateway.audit.keys import trusted_keys
from gateway.audit.record import AccessRecord, AuditUnavailable, canonical_hash, subject_keys
from gateway.audit.sweep import verify
from gateway.audit.verify import VerifyReport
from gateway.console.applying import names
from gateway.execution.outcome import Outcome

if TYPE_CHECKING:
    from gateway.console.view import Visit

__all__ = ["page"]

_LIMIT = 200  # events shown per look-up, newest first
_ID_CHARS = 64


async def page(visit: Visit) -> Response:
    store, runtime = visit.runtime.audit_store, visit.runtime
    subject = visit.field("subject").strip()[:_ID_CHARS] if visit.form is not None else ""
    client = visit.field("client").strip() if visit.form is None else ""
    subject_rows: list[dict[str, Any]] | None = None
    client_rows: list[dict[str, Any]] | None = None
    report: VerifyReport | None = None
    if store is not None:
        if subject:
            subject_rows = await store.subject_events(
                subject_keys(runtime.audit_key, subject.upper()), _LIMIT
            )
            await _audited(visit, subject.upper(), subject_rows)  # before anything is shown
        if client:
            client_rows = await store.client_events(client, _LIMIT)
        if visit.field("verify") == "1":
            audit = runtime.settings.audit
            keys = tuple(trusted_keys(audit).values())  # the public half of the key serve loaded
            report = await verify(store, checkpoints=audit.checkpoints, keys=keys)
    return visit.render(
        "audit.html",
        visit.texts("nav.audit"),
        stored=store is not None,
        subject=subject,
        client=client,
        client_ids=sorted(runtime.policy.clients),
        subject_rows=subject_rows,
        client_rows=client_rows,
        report=report,
        limit=_LIMIT,
        **names(visit),
    )


async def _audited(visit: Visit, subject: str, rows: list[dict[str, Any]]) -> None:
    """An auditor reading a person's access log is itself an access to that person, audited
    as the auditor's `accessLog` query is: the log shows who watched the watchers."""
    runtime = visit.runtime
    if runtime.writer is None:
        if runtime.settings.audit.mode == "off":
            return
        raise WorkflowError("AUDIT_UNAVAILABLE", "The audit log cannot record this look-up now.")
    access = AccessRecord(
        request_id=uuid.uuid4().hex,
        client="console",
        purpose="audit",
        case_id=None,
        operator=visit.subject,
        operation="console.accessLog",
        document_hash=hashlib.sha256(b"console: the access log of one subject").hexdigest(),
    )
    purpose = runtime.policy.purposes.get("audit")
    access.basis = None if purpose is None else purpose.legal_basis
    access.lookup(subject, "found" if rows else "not_found")
    access.read(subject, "audit.read")
    try:
        await runtime.writer.record(access, Outcome.OK, canonical_hash(rows))
    except AuditUnavailable as exc:
        raise WorkflowError("AUDIT_UNAVAILABLE", "The audit log cannot record this look-up now.") from exc
