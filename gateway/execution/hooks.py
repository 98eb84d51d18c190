"""The steps' hooks, looked up once per step class instead of on every request.

For each stage of an operation (operation, parse, validate, execute) strawberry's runner
asks every step instance whether its class overrides the stage's hook, inspects the hook
and wraps it in a new context-manager factory (`functools.update_wrapper` included):
with eleven steps, forty look-ups and a dozen wrappers a request. Here a step class's
hooks are wrapped once, as `contextlib` would wrap them, and a request only binds them
to its step instances. Entering, unwinding and exceptions stay strawberry's
(`ExtensionContextManagerBase`), so a hook sees exactly what it saw before
(tests/gateway/test_hooks.py runs both runners side by side).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from strawberry.extensions import SchemaExtension

from gateway.compat import (
    ExecutingHooks,
    ExtensionsRunner,
    OperationHooks,
    ParsingHooks,
    ValidationHooks,
    WrappedHook,
)

__all__ = ["LeanRunner"]


class _Hook(NamedTuple):
    """A class's hook for one stage: `wrap(instance)` gives the context manager strawberry's
    runner enters; `wrap` None: a plain function, which strawberry's own look-up wraps
    (no step of the gateway's has one)."""

    wrap: Callable[[SchemaExtension], Any] | None
    is_async: bool


_TABLE: dict[tuple[type[SchemaExtension], str], _Hook | None] = {}


def _hook(cls: type[SchemaExtension], name: str) -> _Hook | None:
    """The class's hook for stage `name`, wrapped once; None: the class has none."""
    key = (cls, name)
    if key in _TABLE:
        return _TABLE[key]
    found = getattr(cls, name)
    hook: _Hook | None
    if found is getattr(SchemaExtension, name):
        hook = None
    elif inspect.isgeneratorfunction(found):
        hook = _Hook(contextlib.contextmanager(found), False)
    elif inspect.isasyncgenfunction(found):
        hook = _Hook(contextlib.asynccontextmanager(found), True)
    else:
        hook = _Hook(None, False)
    _TABLE[key] = hook
    return hook


class _Bound:
    """A stage whose hooks come from the table (first in each stage's bases)."""

    __slots__ = ()
    HOOK_NAME: str

    def __init__(self, extensions: list[SchemaExtension]) -> None:
        stage: Any = self  # what it sets and calls is strawberry's stage class, next in the bases
        stage.default_hook = getattr(SchemaExtension, self.HOOK_NAME)
        stage.hooks = hooks = []
        for extension in extensions:
            hook = _hook(type(extension), self.HOOK_NAME)
            if hook is None:
                continue
            if hook.wrap is None:
                wrapped = stage.get_hook(extension)
                if wrapped is not None:
                    hooks.append(wrapped)
            else:
                hooks.append(WrappedHook(extension, functools.partial(hook.wrap, extension), hook.is_async))


class _Operation(_Bound, OperationHooks):
    __slots__ = ()


class _Parsing(_Bound, ParsingHooks):
    __slots__ = ()


class _Validation(_Bound, ValidationHooks):
    __slots__ = ()


class _Executing(_Bound, ExecutingHooks):
    __slots__ = ()


class LeanRunner(ExtensionsRunner):
    """strawberry's `SchemaExtensionsRunner`, with each stage's hooks bound from the
    per-class table above."""

    def operation(self) -> _Operation:
        return _Operation(self.extensions)

    def parsing(self) -> _Parsing:
        return _Parsing(self.extensions)

    def validation(self) -> _Validation:
        return _Validation(self.extensions)

    def executing(self) -> _Executing:
        return _Executing(self.extensions)
