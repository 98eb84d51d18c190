"""Reading govgraph.toml: the file, `${VAR}` substitution, validation by the models, and
errors that name the file, the line and the key.

This is the only reader of the configuration file and of the environment it refers to.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from gateway.config.file import ConfigFile, Settings
from gateway.config.sections import AuditSettings, AuthConfig
from gateway.config.tables import CatalogTable, DocumentsTable
from gateway.config.tomllines import Lines
from gateway.config.variables import REFERENCE, Reference, Variables, references
from gateway.config.wording import problems
from sources.errors import ConfigError, SourceConfigError

__all__ = [
    "ConfigError",
    "Problems",
    "config_error",
    "load_audit",
    "load_auth",
    "load_catalog_path",
    "load_documents_path",
    "load_references",
    "load_settings",
    "located",
    "parse_settings",
]

T = TypeVar("T")


class Problems(SourceConfigError):
    """Every mistake found in one pass, as (dotted key, problem); the first is `where`/`problem`."""

    def __init__(self, found: Sequence[tuple[str, str]]) -> None:
        super().__init__(*found[0])
        self.found = list(found)
        self.args = ("\n".join(f"{where}: {problem}" for where, problem in found),)


def located(path: str | Path, text: str | None, found: Sequence[tuple[str, str]]) -> ConfigError:
    """One line per mistake, `FILE:LINE: key: problem`, in the order of the file."""
    lines = Lines(text) if text is not None else None

    def line(where: str) -> int:
        return lines.of(*re.sub(r"\[\d+\]", "", where).split(".")) if lines else 0

    ordered = sorted(found, key=lambda item: line(item[0]) or 1 << 30)
    return ConfigError(
        "\n".join(
            f"{path}:{n}: {where}: {problem}" if (n := line(where)) else f"{path}: {where}: {problem}"
            for where, problem in ordered
        )
    )


def config_error(path: str | Path, exc: SourceConfigError) -> ConfigError:
    """A mistake found after loading (an adapter's own keys, an entity served twice), with
    its line when the file can still be read."""
    try:
        text: str | None = Path(path).read_text(encoding="utf-8")
    except OSError:
        text = None
    return located(path, text, _found(exc))


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
        return text, tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc  # tomllib names the line and column


def _found(exc: SourceConfigError) -> list[tuple[str, str]]:
    return exc.found if isinstance(exc, Problems) else [(exc.where, exc.problem)]


# Where `${VAR}` takes its values: the process's environment (None), another mapping, or
# `Variables` (check-config's stand-ins).
Environment = Mapping[str, str] | Variables | None


def _variables(environ: Environment) -> Variables:
    if isinstance(environ, Variables):
        return environ
    return Variables(os.environ if environ is None else environ)


def load_settings(path: str | Path, environ: Environment = None) -> Settings:
    path = Path(path)
    text, raw = _read(path)
    try:
        return parse_settings(raw, environ, str(path))
    except SourceConfigError as exc:
        raise located(path, text, _found(exc)) from exc


def parse_settings(raw: Mapping[str, Any], environ: Environment, path: str = "<memory>") -> Settings:
    """Turn a parsed TOML document into settings; raises SourceConfigError (`Problems`)
    naming each wrong key, every one found in this pass."""
    return _validated(
        raw,
        _variables(environ),
        "",
        lambda table: ConfigFile.model_validate(table, context={"here": Path(path).parent}),
        ConfigFile,
    ).settings(path)


def _validated(raw: Any, variables: Variables, where: str, validate: Callable[[Any], T], model: type) -> T:
    """`raw` expanded and validated; its unset variables and its other mistakes raised
    together (`Problems`), the mistakes of an unset variable's stand-in left out."""
    expanded = expand(raw, variables, where)
    unset = variables.take_unset()
    try:
        validated = validate(expanded)
    except ValidationError as exc:
        prefix = (where,) if where else ()
        found = [(w, p) for w, p in problems(exc, model, prefix) if not _under(w, unset)]
        raise Problems(unset + found) from None
    if unset:
        raise Problems(unset)
    return validated


def _under(where: str, unset: list[tuple[str, str]]) -> bool:
    return any(where == key or where.startswith((f"{key}.", f"{key}[")) for key, _ in unset)


def load_auth(path: str | Path, environ: Environment = None) -> AuthConfig:
    """Only the [auth] section: what minting a token needs, without the departments' addresses."""
    auth = _one_section(Path(path), "auth", AuthConfig, environ)
    if auth is None:
        raise located(path, None, [("auth", "the [auth] section (with policy = ...) is required")])
    return auth


def load_audit(path: str | Path, environ: Environment = None) -> AuditSettings:
    """Only the [audit] section: what `govgraph audit` needs, beside a running gateway or not."""
    # Absent, it is read as empty, as the whole file reads it: its defaults need a key.
    audit = _one_section(Path(path), "audit", AuditSettings, environ, absent={})
    if audit is None:  # not reached: an absent section is read as `absent`
        raise located(path, None, [("audit", "the [audit] section is required")])
    return audit


def load_documents_path(path: str | Path, environ: Environment = None) -> str | None:
    """Only [documents] path: what checking trusted documents needs."""
    documents = _one_section(Path(path), "documents", DocumentsTable, environ)
    return None if documents is None else documents.path


def load_catalog_path(path: str | Path, environ: Environment = None) -> str | None:
    """Only [catalog] path: what listing the catalogue needs; None: the project's own."""
    catalog = _one_section(Path(path), "catalog", CatalogTable, environ)
    return None if catalog is None else catalog.path


def load_section(path: str | Path, name: str, model: type[T], environ: Environment = None) -> T:
    """One section of the file, its defaults when absent: what a command that needs only it reads."""
    section = _one_section(Path(path), name, model, environ, absent={})
    if section is None:  # not reached: an absent section is read as `absent`
        raise located(path, None, [(name, f"the [{name}] section is required")])
    return section


def _one_section(path: Path, name: str, model: type[T], environ: Environment, absent: Any = None) -> T | None:
    """The section `name` alone, the rest of the file unchecked; an absent section is None,
    or read as the table `absent` when one is given."""
    text, raw = _read(path)
    if name not in raw and absent is None:
        return None
    adapter = TypeAdapter(model)
    try:
        return _validated(
            raw.get(name, absent),
            _variables(environ),
            name,
            lambda table: adapter.validate_python(table, context={"here": path.parent}),
            model,
        )
    except SourceConfigError as exc:
        raise located(path, text, _found(exc)) from exc


def load_references(path: str | Path) -> list[Reference]:
    """The file's `${VAR}`s, in file order: what it needs from the environment."""
    _, raw = _read(Path(path))
    return references(raw)


def expand(value: Any, variables: Variables, where: str) -> Any:
    """Substitute ${VAR} and ${VAR:-default} in every string under `value`; a variable
    that is not set is recorded in `variables` (`take_unset`), not raised."""
    if isinstance(value, str):
        return REFERENCE.sub(lambda m: variables.value(m.group(1), m.group(2), where), value)
    if isinstance(value, dict):
        return {k: expand(v, variables, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, variables, f"{where}[{i}]") for i, v in enumerate(value)]
    return value
