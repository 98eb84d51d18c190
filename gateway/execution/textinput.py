"""Text input checked at the edge: a String (or ID) argument or variable that no department
should be sent is BAD_USER_INPUT before any department is asked.

Refused are values that hold
- a control character other than tab and newline: C0 (NUL and carriage return
  included), DEL and C1; no key or code a department holds contains one, and PostgreSQL
  refuses NUL outright;
- a surrogate code point: an unpaired surrogate is not Unicode text and cannot be
  encoded for any department;
- more characters than the argument declares with `@maxLength(chars: n)`
  (resolvers/directives.py), or than `[limits] text_chars` where it declares none.

Custom scalars (ResidentId, CreditCode, Month) check their own, stricter, formats.

Each document is walked once, then kept in an LRU by its text: the problems of its
literals (and of its variables' default values), and for each operation the variables
that can hold text, each with the smallest maximum of the places it is used. A request
then checks only its variables' values. What is kept is the same for every client; the
errors are built afresh for each request, because later stages rewrite a result's
errors for the client that asked.

The whole operation is refused (`data` null), with every problem: literals with their
location, variables by name and the place inside their value (`$ids[2]`). A message
names the offending character by code point and position, never repeats the text.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLScalarType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    Source,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    is_input_type,
    type_from_ast,
    visit,
)
from strawberry.extensions import SchemaExtension

from gateway.compat import graphql_schema, strawberry_definition
from gateway.execution.textcheck import text_problem
from resolvers.directives import MaxLength

__all__ = ["TextInput", "TextRules"]

_TEXT = frozenset({"String", "ID"})


def _is_text(type_: object) -> bool:
    return isinstance(type_, GraphQLScalarType) and type_.name in _TEXT


@dataclass(frozen=True)
class _Problem:
    """A literal's problem: how the error reads, where in the document it points."""

    message: str
    position: int
    extensions: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class _Variable:
    name: str
    type: GraphQLInputType
    limit: int  # for text held directly in its value: the least where the variable is used


@dataclass(frozen=True)
class _Plan:
    source: Source | None
    problems: tuple[_Problem, ...]
    operations: Mapping[str | None, tuple[_Variable, ...]]  # by operation name


class _Walk(Visitor):
    """One pass over a document: its literals' problems and where each variable is used."""

    def __init__(self, rules: TextRules, type_info: TypeInfo) -> None:
        super().__init__()
        self.rules = rules
        self.type_info = type_info
        self.owners: list[str] = []  # the field or directive whose arguments are being read
        self.problems: list[_Problem] = []
        self.uses: dict[str, int] = {}  # variable -> least maximum where it is used

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.owners.append(node.name.value)

    def leave_field(self, node: FieldNode, *_: Any) -> None:
        self.owners.pop()

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.owners.append("@" + node.name.value)

    def leave_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.owners.pop()

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        definition = self.type_info.get_argument()
        if definition is None or not self.owners:
            return  # an unknown argument: validation reports it
        label = f"Argument {self.owners[-1]}({node.name.value}:)"
        self.literal(node.value, definition.type, self.rules.limit(definition), label)

    def literal(self, root: ValueNode, root_type: GraphQLInputType, root_limit: int, label: str) -> None:
        # Iterative: nesting is the client's to choose.
        queue: deque[tuple[ValueNode, Any, int, str]] = deque([(root, root_type, root_limit, "")])
        while queue:
            node, type_, limit, path = queue.popleft()
            if isinstance(node, VariableNode):
                name = node.name.value
                self.uses[name] = min(self.uses.get(name, limit), limit)
                continue
            type_ = get_nullable_type(type_)
            if isinstance(type_, GraphQLList):
                if isinstance(node, ListValueNode):
                    queue.extend((v, type_.of_type, limit, f"{path}[{i}]") for i, v in enumerate(node.values))
                else:  # a single value where a list is expected: coerced to a list of one
                    queue.append((node, type_.of_type, limit, path))
            elif isinstance(type_, GraphQLInputObjectType):
                if isinstance(node, ObjectValueNode):
                    for field in node.fields:
                        definition = type_.fields.get(field.name.value)
                        if definition is not None:
                            name = field.name.value
                            queue.append(
                                (field.value, definition.type, self.rules.limit(definition), f"{path}.{name}")
                            )
            elif _is_text(type_) and isinstance(node, StringValueNode):
                problem = text_problem(node.value, limit)
                if problem is not None:
                    position = node.loc.start if node.loc is not None else 0
                    message = f"{label}{path} {problem[0]}."
                    self.problems.append(_Problem(message, position, tuple(problem[1].items())))


def _carries_text(type_: GraphQLInputType) -> bool:
    named = get_named_type(type_)
    return _is_text(named) or isinstance(named, GraphQLInputObjectType)


class TextRules:
    """The text checks of one schema, with `default_chars` for text arguments that declare
    no maximum, and the plans of the last `maxsize` documents."""

    def __init__(self, default_chars: int, maxsize: int = 512) -> None:
        self.default_chars = default_chars
        self._maxsize = maxsize
        self._plans: OrderedDict[str, _Plan] = OrderedDict()

    def limit(self, definition: GraphQLArgument | GraphQLInputField) -> int:
        """The declared `@maxLength` of an argument or input field, or the default."""
        for directive in getattr(strawberry_definition(definition), "directives", None) or ():
            if isinstance(directive, MaxLength):
                return directive.chars
        return self.default_chars

    def plan(self, schema: GraphQLSchema, query: str | None, document: DocumentNode) -> _Plan:
        if query is None:
            return self._walk(schema, document)
        plan = self._plans.get(query)
        if plan is None:
            plan = self._plans[query] = self._walk(schema, document)
            if len(self._plans) > self._maxsize:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(query)
        return plan

    def _walk(self, schema: GraphQLSchema, document: DocumentNode) -> _Plan:
        type_info = TypeInfo(schema)
        walk = _Walk(self, type_info)
        visit(document, TypeInfoVisitor(type_info, walk))
        operations: dict[str | None, tuple[_Variable, ...]] = {}
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            variables = []
            for node in definition.variable_definitions or ():
                type_ = type_from_ast(schema, node.type)
                if not is_input_type(type_) or not _carries_text(type_):
                    continue  # an unknown type (validation reports it), or no text in it
                name = node.variable.name.value
                limit = walk.uses.get(name, self.default_chars)
                if node.default_value is not None:
                    walk.literal(node.default_value, type_, limit, f"The default value of ${name}")
                variables.append(_Variable(name, type_, limit))
            operations[definition.name.value if definition.name else None] = tuple(variables)
        source = document.loc.source if document.loc is not None else None
        return _Plan(source, tuple(walk.problems), operations)

    def check(
        self,
        schema: GraphQLSchema,
        query: str | None,
        document: DocumentNode,
        operation_name: str | None,
        values: Mapping[str, Any] | None,
    ) -> list[GraphQLError]:
        """Fresh errors for every problem of the document and of this request's variables."""
        plan = self.plan(schema, query, document)
        errors = [
            GraphQLError(
                p.message,
                source=plan.source,
                positions=[p.position],
                extensions={"code": "BAD_USER_INPUT", **dict(p.extensions)},
            )
            for p in plan.problems
        ]
        if values:
            if operation_name is None:
                variables = next(iter(plan.operations.values())) if len(plan.operations) == 1 else ()
            else:
                variables = plan.operations.get(operation_name, ())
            for variable in variables:
                if variable.name in values:
                    errors.extend(self._value(variable, values[variable.name]))
        return errors

    def _value(self, variable: _Variable, value: Any) -> Iterator[GraphQLError]:
        queue: deque[tuple[Any, Any, int, str]] = deque([(value, variable.type, variable.limit, "")])
        while queue:
            item, type_, limit, path = queue.popleft()
            type_ = get_nullable_type(type_)
            if isinstance(type_, GraphQLList):
                if isinstance(item, list):
                    queue.extend((v, type_.of_type, limit, f"{path}[{i}]") for i, v in enumerate(item))
                else:  # a single value where a list is expected: coerced to a list of one
                    queue.append((item, type_.of_type, limit, path))
            elif isinstance(type_, GraphQLInputObjectType):
                if isinstance(item, dict):
                    for name, field in type_.fields.items():
                        if name in item:
                            queue.append((item[name], field.type, self.limit(field), f"{path}.{name}"))
            elif _is_text(type_) and isinstance(item, str):
                problem = text_problem(item, limit)
                if problem is not None:
                    yield GraphQLError(
                        f"Variable ${variable.name}{path} {problem[0]}.",
                        extensions={"code": "BAD_USER_INPUT", **problem[1]},
                    )


class TextInput(SchemaExtension):
    """Runs after the validation cache: a document that does not validate keeps its
    validation errors; one that does, but holds refused text, gets these instead, and
    execution never starts. Its rules are the schema's (`text_rules`, set when the gateway
    builds it) unless given."""

    def __init__(self, rules: TextRules | None = None) -> None:
        self._rules = rules

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        rules = self._rules or getattr(ctx.schema, "text_rules", None)
        if rules is not None and document is not None and not ctx.pre_execution_errors:
            errors = rules.check(
                graphql_schema(ctx.schema), ctx.query, document, ctx.operation_name, ctx.variables
            )
            if errors:
                # Set before validation runs, so strawberry refuses the operation with them.
                ctx.pre_execution_errors = errors
        yield
