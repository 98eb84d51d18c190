"""Executing a plan: each object's fields in order, values completed into response dicts
directly, and resolvers that wait (for a loader's batch) resumed together when their
level's batch arrives, with no coroutine wrapper or task per field.

A resolver's coroutine is driven here: started at once, so that every load of a level is
asked before the loaders' scheduler dispatches them as one batch, then resumed when the
future it waits on is done. Look-ups, verdicts and root fields, which may wait on other
I/O (the tally store, the audit store) with timeouts of their own, run in tasks.

Errors follow graphql-core's rules exactly: a field error nulls the field, or, for a
non-null field, its nearest nullable ancestor (an error below an ancestor already nulled
is dropped); work pending under a position nulled by a later error is cancelled.
"""

from __future__ import annotations

import asyncio
from inspect import iscoroutine
from typing import Any

from graphql import GraphQLError, located_error
from graphql.pyutils import Path, Undefined, inspect, is_iterable

from gateway.execution.plan.model import (
    ATTRIBUTE,
    LEAF,
    NON_NULL,
    OBJECT,
    REFUSE,
    TYPENAME,
    Completion,
    FieldPlan,
    Plan,
    Selection,
)
from gateway.execution.plan.pending import BACKGROUND, Pending, finish, unseen
from gateway.execution.plan.positions import ROOT, Errors, Slot, under
from gateway.policy.forbidden import forbidden

__all__ = ["Runner"]


def _null_error(plan: FieldPlan) -> TypeError:
    return TypeError(f"Cannot return null for non-nullable field {plan.parent.name}.{plan.name}.")


def _coerced(leaf: Completion, value: Any) -> Any:
    coerced = leaf.coerce(value)  # type: ignore[misc]
    if coerced is Undefined or coerced is None:
        raise TypeError(
            f"Expected `{inspect(leaf.leaf)}.coerce_output_value({inspect(value)})` to return"
            f" non-nullable value, returned: {inspect(coerced)}"
        )
    return coerced


class Runner:
    """One execution of a plan; `executor` is the operation's graphql-core executor (its
    context, variables and resolve-info builder)."""

    def __init__(self, executor: Any, plan: Plan) -> None:
        self.executor = executor
        self.plan = plan
        self.access = executor.context_value.access
        self.found = Errors()
        self.live: set[Pending] = set()
        self.ready: list[tuple[Pending, Any]] = []
        self.wakeup: asyncio.Future[None] | None = None
        self.failed: list[tuple[GraphQLError, Slot]] = []  # non-null errors waiting to propagate
        self.fresh = 0  # tasks started since the loop last turned: they have not asked yet
        self.arguments: dict[int, dict[str, Any] | Exception] = {}

    async def run(self) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
        data: dict[str, Any] = {}
        loaders = self.executor.context_value.loaders
        try:
            self.object(self.plan.root, data, self.executor.root_value, None, ROOT)
        except GraphQLError as raised:  # a non-null root field
            self.found.add(raised, None)
            self.detach_under(None)
        try:
            while self.live:
                if self.fresh:
                    # Tasks just started take their first step (and ask their loads) on the
                    # loop's next turn, before this run resumes.
                    self.fresh = 0
                    await asyncio.sleep(0)
                # Every resolver started now waits (on a load, or on the tally store or
                # the audit store, whose loads come later and go after quiet turns).
                loaders.settled()
                if not self.ready:
                    self.wakeup = asyncio.get_running_loop().create_future()
                    await self.wakeup
                ready, self.ready = self.ready, []
                for item, future in ready:
                    if item.task is not None:
                        self.settled_task(item)
                    elif future is item.waiting_on:
                        self.step(item, None)
                # Non-null errors reach their ancestors after every sibling settled in the
                # same turn, as graphql-core's gathers pass them on a turn later.
                failed, self.failed = self.failed, []
                for failure, slot in failed:
                    self.propagate(failure, slot)
        finally:
            if self.live:  # cancelled while waiting: nothing may run on unseen
                self.abandon()
        return (None if self.found.nulled(None) else data), self.found.errors

    # Errors ------------------------------------------------------------------------

    def propagate(self, error: GraphQLError, slot: Slot) -> None:
        """A non-null value failed inside `slot`'s object or list, after it was placed."""
        while slot is not ROOT:
            if slot.nullable:
                if not self.found.nulled(slot.path):
                    slot.container[slot.key] = None
                    self.found.add(error, slot.path)
                    self.cancel_under(slot.path)
                return
            slot = slot.parent  # type: ignore[assignment]
        if not self.found.nulled(None):
            self.found.add(error, None)
            self.cancel_under(None)

    # Objects, lists, leaves ---------------------------------------------------------

    def object(
        self, selection: Selection, result: dict[str, Any], source: Any, path: Path | None, slot: Slot
    ) -> None:
        for plan in selection.fields:
            key = plan.key
            try:
                step = plan.step
                if step == ATTRIBUTE:
                    if plan.read:
                        self.access.read(source.subject_id, plan.scope)
                    value = getattr(source, plan.attribute)
                    if plan.mask is not None and value is not None:
                        value = plan.mask(value)
                    complete = plan.complete
                    if complete.kind == LEAF:
                        result[key] = None if value is None else _coerced(complete, value)
                    elif complete.kind == NON_NULL and complete.of.kind == LEAF:  # type: ignore[union-attr]
                        if value is None:
                            raise _null_error(plan)
                        result[key] = _coerced(complete.of, value)  # type: ignore[arg-type]
                    else:
                        own = Path(path, key, selection.type.name)
                        result[key] = self.complete(
                            complete, plan, value, own, result, key, complete.nullable, slot
                        )
                elif step == TYPENAME:
                    result[key] = selection.type.name
                else:
                    own = Path(path, key, selection.type.name)
                    if step == REFUSE:
                        self.access.deny(".".join(str(p) for p in own.as_list()), plan.scope)
                        raise forbidden(f"Not granted for this purpose: {plan.scope}.", scope=plan.scope)
                    self.resolve(plan, source, own, result, slot)
            except Exception as raw:
                own = Path(path, key, selection.type.name)
                error = located_error(raw, plan.nodes, own.as_list())
                if not plan.complete.nullable:
                    raise error from None
                result[key] = None
                self.found.add(error, own)
                self.detach_under(own)

    def resolve(self, plan: FieldPlan, source: Any, path: Path, result: dict[str, Any], slot: Slot) -> None:
        arguments = plan.arguments if not plan.variable_arguments else self.argument_values(plan)
        info = self.executor.build_resolve_info(plan.definition, plan.nodes, plan.parent, path)
        value = plan.resolve(source, info, **arguments)  # type: ignore[misc, arg-type]
        if iscoroutine(value) or asyncio.isfuture(value):
            result[plan.key] = None  # the key keeps its place in the answer
            self.schedule(plan, value, result, path, slot)
        else:
            result[plan.key] = self.complete(
                plan.complete, plan, value, path, result, plan.key, plan.complete.nullable, slot
            )

    def argument_values(self, plan: FieldPlan) -> dict[str, Any]:
        """Arguments that use variables, coerced once per execution (an error again for
        every parent, as graphql-core raises it per field)."""
        found = self.arguments.get(id(plan))
        if found is None:
            try:
                found = self.executor.argument_values(plan.definition, plan.nodes[0])
            except Exception as exc:
                found = exc
            self.arguments[id(plan)] = found
        if isinstance(found, Exception):
            raise found
        return found

    def complete(
        self,
        complete: Completion,
        plan: FieldPlan,
        value: Any,
        path: Path,
        container: Any,
        key: Any,
        nullable: bool,
        slot: Slot,
    ) -> Any:
        if isinstance(value, Exception):
            raise value
        kind = complete.kind
        if kind == NON_NULL:
            completed = self.complete(complete.of, plan, value, path, container, key, False, slot)  # type: ignore[arg-type]
            if completed is None:
                raise _null_error(plan)
            return completed
        if value is None or value is Undefined:
            return None
        if kind == LEAF:
            return _coerced(complete, value)
        if kind == OBJECT:
            result: dict[str, Any] = {}
            self.object(complete.selection, result, value, path, Slot(container, key, path, nullable, slot))  # type: ignore[arg-type]
            return result
        if not is_iterable(value):
            raise GraphQLError(
                f"Expected Iterable, but did not find one for field '{plan.parent.name}.{plan.name}'."
            )
        item = complete.of
        own = Slot(container, key, path, nullable, slot)
        items: list[Any] = []
        for index, each in enumerate(value):
            item_path = path.add_key(index, None)
            items.append(None)
            try:
                items[index] = self.complete(item, plan, each, item_path, items, index, item.nullable, own)  # type: ignore[union-attr, arg-type]
            except Exception as raw:
                error = located_error(raw, plan.nodes, item_path.as_list())
                if not item.nullable:  # type: ignore[union-attr]
                    raise error from None
                self.found.add(error, item_path)
                self.detach_under(item_path)
        return items

    # Waiting resolvers ---------------------------------------------------------------

    def schedule(self, plan: FieldPlan, value: Any, result: dict[str, Any], path: Path, slot: Slot) -> None:
        item = Pending(plan, result, path, slot)
        self.live.add(item)
        if plan.task or not iscoroutine(value):
            self.fresh += 1
            item.task = task = asyncio.ensure_future(value)
            task.add_done_callback(lambda done, item=item: self.wake(item, done))
        else:
            item.coro = value
            self.step(item, None)

    def wake(self, item: Pending, future: Any) -> None:
        self.ready.append((item, future))
        wakeup = self.wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def step(self, item: Pending, throw: BaseException | None) -> None:
        """Run `item`'s coroutine on until it waits again or ends."""
        coro = item.coro
        try:
            waits = coro.send(None) if throw is None else coro.throw(throw)  # type: ignore[union-attr]
        except StopIteration as stop:
            self.settle(item, stop.value, None)
            return
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            self.settle(item, None, exc)
            return
        if waits is None:  # a bare yield (asyncio.sleep(0)): resume on the loop's next turn
            item.waiting_on = None
            asyncio.get_running_loop().call_soon(self.wake, item, None)
            return
        if getattr(waits, "_asyncio_future_blocking", None) is None:
            coro.close()  # type: ignore[union-attr]
            self.settle(item, None, RuntimeError(f"a resolver awaited {waits!r}, not a future"))
            return
        waits._asyncio_future_blocking = False
        item.waiting_on = waits
        waits.add_done_callback(lambda done, item=item: self.wake(item, done))

    def settled_task(self, item: Pending) -> None:
        task = item.task
        if task.cancelled():  # type: ignore[union-attr]
            self.settle(item, None, asyncio.CancelledError())
        else:
            self.settle(item, None if task.exception() else task.result(), task.exception())  # type: ignore[union-attr]

    def settle(self, item: Pending, value: Any, exc: BaseException | None) -> None:
        self.live.discard(item)
        if item.cancelled:
            return
        plan = item.plan
        try:
            if exc is not None:
                raise exc if isinstance(exc, Exception) else RuntimeError(f"resolver stopped: {exc!r}")
            item.container[item.key] = self.complete(
                plan.complete,
                plan,
                value,
                item.path,
                item.container,
                item.key,
                plan.complete.nullable,
                item.slot,
            )
        except Exception as raw:
            error = located_error(raw, plan.nodes, item.path.as_list())
            if plan.complete.nullable:
                item.container[item.key] = None
                self.found.add(error, item.path)
                self.detach_under(item.path)
            else:
                self.failed.append((error, item.slot))

    def cancel_under(self, path: Path | None) -> None:
        """Work pending below a position just nulled is cancelled, as graphql-core cancels
        the awaited siblings of a failed non-null field."""
        for item in [i for i in self.live if not i.cancelled and under(i.path, path)]:
            item.cancelled = True  # and it stays live until it ends, as gathers wait for it
            if item.task is not None:
                item.task.cancel()
            else:
                self.step(item, asyncio.CancelledError())

    def detach_under(self, path: Path | None) -> None:
        """Work started below a position nulled by an error raised while it was being
        completed goes on in the background, unseen, as graphql-core settles it."""
        if not self.live:
            return
        for item in [i for i in self.live if under(i.path, path)]:
            self.live.discard(item)
            item.cancelled = True
            if item.task is not None:
                item.task.add_done_callback(unseen)
            elif item.coro is not None:
                BACKGROUND.add(task := asyncio.ensure_future(finish(item.coro, item.waiting_on)))
                task.add_done_callback(BACKGROUND.discard)

    def abandon(self) -> None:
        for item in list(self.live):
            item.cancelled = True
            if item.task is not None:
                item.task.cancel()
                item.task.add_done_callback(unseen)
            elif item.coro is not None:
                item.coro.close()
        self.live.clear()
