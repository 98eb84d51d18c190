"""Reading govgraph.toml: the file, `${VAR}` substitution, validation by the models, and
errors that name the file, the line and the key.

This is the only reader of the configuration file and of the environment it refers to.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from gateway.config.file import ConfigFile, Settings
from gateway.config.sections import AuditSettings, AuthConfig
from gateway.config.tables import CatalogTable, DocumentsTable
from gateway.config.tomllines import Lines
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
    "load_settings",
    "located",
    "parse_settings",
]

T = TypeVar("T")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    path = Path(path)
    text, raw = _read(path)
    try:
        return parse_settings(raw, _environ(environ), str(path))
    except SourceConfigError as exc:
        raise located(path, text, _found(exc)) from exc


def parse_settings(raw: Mapping[str, Any], environ: Mapping[str, str], path: str = "<memory>") -> Settings:
    """Turn a parsed TOML document into settings; raises SourceConfigError (`Problems`)
    naming each wrong key."""
    expanded = expand(raw, environ, "")
    try:
        document = ConfigFile.model_validate(expanded, context={"here": Path(path).parent})
    except ValidationError as exc:
        raise Problems(problems(exc, ConfigFile)) from None
    return document.settings(path)


def load_auth(path: str | Path, environ: Mapping[str, str] | None = None) -> AuthConfig:
    """Only the [auth] section: what minting a token needs, without the departments' addresses."""
    auth = _one_section(Path(path), "auth", AuthConfig, environ)
    if auth is None:
        raise located(path, None, [("auth", "the [auth] section (with policy = ...) is required")])
    return auth


def load_audit(path: str | Path, environ: Mapping[str, str] | None = None) -> AuditSettings:
    """Only the [audit] section: what `govgraph audit` needs, beside a running gateway or not."""
    # Absent, it is read as empty, as the whole file reads it: its defaults need a key.
    audit = _one_section(Path(path), "audit", AuditSettings, environ, absent={})
    if audit is None:  # not reached: an absent section is read as `absent`
        raise located(path, None, [("audit", "the [audit] section is required")])
    return audit


def load_documents_path(path: str | Path, environ: Mapping[str, str] | None = None) -> str | None:
    """Only [documents] path: what checking trusted documents needs."""
    documents = _one_section(Path(path), "documents", DocumentsTable, environ)
    return None if documents is None else documents.path


def load_catalog_path(path: str | Path, environ: Mapping[str, str] | None = None) -> str | None:
    """Only [catalog] path: what listing the catalogue needs; None: the project's own."""
    catalog = _one_section(Path(path), "catalog", CatalogTable, environ)
    return None if catalog is None else catalog.path


def load_section(path: str | Path, name: str, model: type[T], environ: Mapping[str, str] | None = None) -> T:
    """One section of the file, its defaults when absent: what a command that needs only it reads."""
    section = _one_section(Path(path), name, model, environ, absent={})
    if section is None:  # not reached: an absent section is read as `absent`
        raise located(path, None, [(name, f"the [{name}] section is required")])
    return section


def _one_section(
    path: Path, name: str, model: type[T], environ: Mapping[str, str] | None, absent: Any = None
) -> T | None:
    """The section `name` alone, the rest of the file unchecked; an absent section is None,
    or read as the table `absent` when one is given."""
    text, raw = _read(path)
    if name not in raw and absent is None:
        return None
    try:
        table = expand(raw.get(name, absent), _environ(environ), name)
        try:
            return TypeAdapter(model).validate_python(table, context={"here": path.parent})
        except ValidationError as exc:
            raise Problems(problems(exc, model, (name,))) from None
    except SourceConfigError as exc:
        raise located(path, text, _found(exc)) from exc


def expand(value: Any, environ: Mapping[str, str], where: str) -> Any:
    """Substitute ${VAR} and ${VAR:-default} in every string under `value`."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            var, default = m.group(1), m.group(2)
            if var in environ:
                return environ[var]
            if default is not None:
                return default
            raise SourceConfigError(where, f"environment variable {var} is not set")

        return _ENV.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand(v, environ, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, environ, f"{where}[{i}]") for i, v in enumerate(value)]
    return value
