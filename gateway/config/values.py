"""The kinds of value govgraph.toml holds, as annotated types the models share.

Numbers and switches are strict (no `5.5` read as `5`, no `1` read as `true`) but may be
written as text, because `${VAR}` substitution yields text. A type whose failures read
their own way (`must be 0 (off) or a number of seconds`) carries that wording; the rest
are worded from pydantic's error type in wording.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from sources.errors import SourceConfigError

__all__ = [
    "Address",
    "Count",
    "EntityName",
    "KeyFiles",
    "KeyPairs",
    "LogLevel",
    "OptionalPath",
    "OptionalText",
    "Origins",
    "Positive",
    "Ratio",
    "RelativePath",
    "Seconds",
    "SecondsOrOff",
    "SourceName",
    "SourceNames",
    "Switch",
    "Text",
    "Whole",
    "parse_address",
    "problem",
    "required_with_redis",
]


def problem(message: str) -> PydanticCustomError:
    """A failure worded as the message should read after `file:line: key: `."""
    return PydanticCustomError("config", message)


def required_with_redis(value: str | None, info: ValidationInfo) -> str | None:
    """A validator of `redis_url` beside a `backend` key."""
    if value is None and info.data.get("backend") == "redis":
        raise problem("is required when backend is redis")
    return value


def _number(kind: type[int] | type[float]) -> BeforeValidator:
    def read(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return kind(value.strip())
            except ValueError:
                return value  # left for the strict check to refuse, naming the type
        return value

    return BeforeValidator(read)


def _switch(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def worded(message: str, *kinds: str) -> WrapValidator:
    """Reword the listed pydantic failures (all of them when none is listed) as `message`;
    `{got}` is replaced by the value as written."""

    def wrap(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if kinds and exc.errors()[0]["type"] not in kinds:
                raise
            raise PydanticCustomError("config", message, {"got": repr(value)}) from None

    return WrapValidator(wrap)


Switch = Annotated[bool, Strict(), BeforeValidator(_switch)]
Whole = Annotated[int, Strict(), Field(ge=0), _number(int)]
Count = Annotated[int, Strict(), Field(ge=1), _number(int)]
Positive = Annotated[float, Strict(), Field(gt=0), _number(float)]
SecondsOrOff = Annotated[
    float,
    Strict(),
    Field(ge=0),
    _number(float),
    worded("must be 0 (off) or a number of seconds, got {got}", "greater_than_equal"),
]
Seconds = Annotated[
    float, Strict(), Field(ge=0), _number(float), worded("must be a number of at least 0, got {got}")
]
Ratio = Annotated[
    float, Strict(), Field(ge=0, le=1), _number(float), worded("must be between 0 and 1, got {got}")
]
Text = Annotated[str, Strict(), Field(min_length=1)]


# An empty value means "not set": what `${REDIS_URL:-}` gives when the variable is absent.
def _empty_is_unset(value: Any) -> Any:
    return None if value == "" else value


OptionalText = Annotated[Text | None, BeforeValidator(_empty_is_unset, json_schema_input_type=str)]
_NAME = r"^[a-z][a-z0-9_]*$"
SourceName = Annotated[
    str, Field(pattern=_NAME), worded("source names are lower-case letters, digits and underscores")
]
EntityName = Annotated[
    str, Field(pattern=_NAME), worded("entity names are lower-case letters, digits and underscores")
]
SourceNames = Annotated[tuple[Text, ...], worded("must be a list of source names")]
# Read in any case; the schema offers both cases (the shipped file says "info").
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR"],
    BeforeValidator(
        lambda v: v.upper() if isinstance(v, str) else v,
        json_schema_input_type=Literal[
            "debug", "info", "warning", "error", "DEBUG", "INFO", "WARNING", "ERROR"
        ],
    ),
    worded("must be debug, info, warning or error, got {got}", "literal_error"),
]


def _beside_the_file(value: str, info: ValidationInfo) -> str:
    """Relative paths are relative to the configuration file (`here` in the context)."""
    here = (info.context or {}).get("here")
    return str(Path(here) / value) if here is not None else value


RelativePath = Annotated[Text, AfterValidator(_beside_the_file)]
OptionalPath = Annotated[RelativePath | None, BeforeValidator(_empty_is_unset, json_schema_input_type=str)]


def parse_address(text: str, where: str = "address") -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:9000` for IPv6) as (host, port); raises SourceConfigError."""
    host, _, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SourceConfigError(where, f"must be HOST:PORT, e.g. 127.0.0.1:9000, got {text!r}")
    return host, int(port)


def _address(text: str) -> str:
    try:
        parse_address(text)
    except SourceConfigError as exc:
        raise problem(exc.problem) from None
    return text


Address = Annotated[Text, AfterValidator(_address)]


class KeyFiles(TypedDict, total=False):
    """`public_keys` as written: a PEM file per algorithm."""

    RS256: str
    ES256: str


def _key_files(value: Any, info: ValidationInfo) -> Any:
    """The file's `{ RS256 = "keys/issuer.pem" }` as (algorithm, path) pairs, paths resolved;
    pairs given directly (tests, code) pass as they are."""
    if not isinstance(value, Mapping):
        return value
    for alg, path in value.items():
        if alg not in KeyFiles.__annotations__ or not isinstance(path, str) or not path:
            raise problem(f"must map RS256 or ES256 to a PEM file path, got {alg} = {path!r}")
    return tuple((alg, _beside_the_file(path, info)) for alg, path in value.items())


KeyPairs = Annotated[
    tuple[tuple[str, str], ...], BeforeValidator(_key_files, json_schema_input_type=KeyFiles)
]


# scheme://host[:port], then anything after it (which an origin must not have).
_ORIGIN = re.compile(
    r"(?P<scheme>https?)://(?P<host>\[[0-9a-f:.]+\]|[a-z0-9-]+(?:\.[a-z0-9-]+)*)"
    r"(?::(?P<port>\d{1,5}))?(?P<rest>[/?#].*)?",
    re.IGNORECASE | re.DOTALL,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(value: str) -> str:
    """One web origin, written as a browser sends it in `Origin` (lower case, no default
    port), so that comparing the header with it is a plain string match."""
    if value.strip() == "*":
        raise problem("'*' is not accepted: list the origin of each web application that may call")
    found = _ORIGIN.fullmatch(value)
    port = int(found["port"]) if found is not None and found["port"] is not None else None
    if found is None or (port is not None and not 0 < port < 65536):
        example = "e.g. https://app.example.gov.cn"
        raise problem(f"must be an origin, scheme://host[:port] ({example}), got {value!r}")
    scheme = found["scheme"].lower()
    origin = f"{scheme}://{found['host'].lower()}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        origin += f":{port}"
    if found["rest"]:
        raise problem(f"an origin has no path, query or fragment: write {origin!r}, got {value!r}")
    return origin


Origin = Annotated[str, Strict(), AfterValidator(_origin)]
Origins = Annotated[tuple[Origin, ...], worded("must be a list of origins", "tuple_type")]
