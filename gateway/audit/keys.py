"""The checkpoint keys: the writer's signing key and the public keys a verifier trusts, read
from the files `[audit]` names (never from the database)."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.audit.checkpoint import Checkpointer, open_sink
from gateway.audit.suite import Signer, get_suite, verifier_for
from gateway.config.sections import AuditSettings
from sources.errors import ConfigError

__all__ = ["checkpointer_for", "signer_for", "trusted_keys", "write_key_pair"]


def signer_for(audit: AuditSettings) -> Signer | None:
    """The key that signs this configuration's checkpoints, or None without checkpoints."""
    if not audit.checkpoints or not audit.checkpoint_key:
        return None
    try:
        pem = Path(audit.checkpoint_key).read_bytes()
        return get_suite(audit.suite).signer(pem)
    except OSError as exc:
        raise ConfigError(f"audit: checkpoint_key {audit.checkpoint_key}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"audit: checkpoint_key {audit.checkpoint_key}: {exc}") from None


def checkpointer_for(audit: AuditSettings, store: str = "") -> Checkpointer | None:
    """The writer's checkpointer for the audit store whose id is `store`, or None without
    checkpoints; ConfigError for a key or sink that cannot be used."""
    signer = signer_for(audit)
    if signer is None or not audit.checkpoints:
        return None
    try:
        sink = open_sink(audit.checkpoints, store)
    except ValueError as exc:
        raise ConfigError(f"audit: checkpoints: {exc}") from None
    return Checkpointer(
        sink,
        signer,
        audit.suite,
        grace=audit.checkpoint_grace,
        store=store,
        timeout=max(1.0, audit.checkpoint_interval),
    )


def trusted_keys(audit: AuditSettings, files: list[str] | None = None) -> dict[str, bytes]:
    """The public keys (PEM) checkpoints are checked with, by key id: the files given (`audit
    verify --keys`), else `verify_keys`, else the public half of `checkpoint_key`."""
    paths = files or list(audit.verify_keys)
    trusted: dict[str, bytes] = {}
    for path in paths:
        try:
            pem = Path(path).read_bytes()
            trusted[verifier_for(pem).key_id] = pem
        except OSError as exc:
            raise ConfigError(f"audit: public key {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"audit: public key {path}: {exc}") from None
    if not paths:
        signer = signer_for(audit)
        if signer is not None:
            trusted[signer.key_id] = signer.public_pem
    return trusted


def write_key_pair(suite: str, private_path: Path) -> Path:
    """A new signing key (0600) and its public half beside it (`<name>.pub.pem`); refuses to
    overwrite a key."""
    pem = get_suite(suite).generate_key()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public = private_path.with_name(private_path.name.removesuffix(".pem") + ".pub.pem")
    public.write_bytes(get_suite(suite).signer(pem).public_pem)
    return public
