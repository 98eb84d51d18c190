"""Planning an operation: fields collected once (fragments, aliases, `@include`/`@skip`
resolved with graphql-core's own collection), each given its step under the principal's
grants and its completion under its type.

A plan is only right for the grants and the directive variables it was made with: the
plan cache keys it by both (cache.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    ValueNode,
    VariableNode,
    is_leaf_type,
)

from gateway.compat import (
    FieldDetails,
    FragmentDetails,
    VariableValues,
    collect_fields,
    collect_subfields,
    field_definition,
    get_argument_values,
)
from gateway.execution.plan.model import (
    ATTRIBUTE,
    LEAF,
    LIST,
    NON_NULL,
    OBJECT,
    REFUSE,
    RESOLVE,
    TYPENAME,
    Completion,
    FieldPlan,
    Plan,
    Selection,
    Unplannable,
)
from gateway.policy.enforcement import FieldRule
from gateway.policy.model import MASKED

__all__ = ["plan_operation"]


def _uses_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_uses_variables(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_uses_variables(f.value) for f in value.fields)
    return False


def _attribute(definition: Any) -> str | None:
    """The attribute a field reads when it has no resolver of its own (Strawberry's basic
    fields, read with the default resolver, getattr)."""
    field = field_definition(definition)
    if field is None or not field.is_basic_field or field.default_resolver is not getattr:
        return None
    return field.python_name


class _Planner:
    def __init__(
        self,
        schema: GraphQLSchema,
        rules: Mapping[str, FieldRule],
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDetails],
        variables: VariableValues,
        grants: Mapping[str, str],
    ) -> None:
        self.schema = schema
        self.rules = rules
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        self.grants = grants
        self.count = 0
        self.root = schema.query_type

    def selection(self, parent: GraphQLObjectType, grouped: dict[str, list[FieldDetails]]) -> Selection:
        chosen = Selection(parent)
        for key, details in grouped.items():
            if any(d.defer_usage is not None or d.fragment_variable_values is not None for d in details):
                raise Unplannable("defer_or_fragment_arguments")
            node = details[0].node
            name = node.name.value
            nodes = [d.node for d in details]
            self.count += 1
            if name == "__typename":
                text: Any = self.schema.type_map["String"]
                leaf = Completion(LEAF, coerce=text.coerce_output_value, leaf=text)
                complete = Completion(NON_NULL, of=leaf, nullable=False)
                chosen.fields.append(FieldPlan(key, name, nodes, None, parent, TYPENAME, complete))  # type: ignore[arg-type]
                continue
            if name.startswith("__"):
                raise Unplannable("introspection")
            definition = parent.fields.get(name)
            if definition is None:
                continue  # graphql-core leaves out a field its type lacks
            rule = self.rules.get(f"{parent.name}.{name}")
            if rule is None:
                raise Unplannable("no_field_rule")
            complete = self.completion(definition.type, details)
            plan = FieldPlan(key, name, nodes, definition, parent, RESOLVE, complete)
            self.step(plan, rule, node)
            chosen.fields.append(plan)
        return chosen

    def step(self, plan: FieldPlan, rule: FieldRule, node: FieldNode) -> None:
        definition = plan.definition
        level = None if rule.scope is None else self.grants.get(rule.scope)
        refused = rule.scope is not None and level is None
        attribute = _attribute(definition)
        if rule.kind == "plain" and attribute is not None and not rule.located:
            plan.scope = rule.scope
            if refused:
                plan.step = REFUSE
                return
            plan.step, plan.attribute = ATTRIBUTE, attribute
            plan.read = rule.about_subject and rule.scope is not None
            plan.mask = rule.mask if level == MASKED else None
            return
        plan.resolve = rule.resolve
        # Look-ups and verdicts may wait on the tally store, root fields on anything: each
        # runs in a task, as their timeouts expect. Other resolvers only await loaders.
        plan.task = rule.kind != "plain" or plan.parent is self.root
        if definition.args or node.arguments:
            if any(_uses_variables(a.value) for a in node.arguments or ()):
                plan.variable_arguments = True
            else:
                try:
                    plan.arguments = get_argument_values(definition, node, self.variables)
                except Exception:
                    plan.variable_arguments = True
        else:
            plan.arguments = {}
        if rule.kind == "plain" and refused and not plan.variable_arguments:
            plan.scope, plan.step = rule.scope, REFUSE

    def completion(self, gtype: GraphQLOutputType, details: list[FieldDetails]) -> Completion:
        if isinstance(gtype, GraphQLNonNull):
            return Completion(NON_NULL, of=self.completion(gtype.of_type, details), nullable=False)
        if isinstance(gtype, GraphQLList):
            return Completion(LIST, of=self.completion(gtype.of_type, details))
        if is_leaf_type(gtype):
            return Completion(LEAF, coerce=gtype.coerce_output_value, leaf=gtype)
        if isinstance(gtype, GraphQLObjectType):
            if gtype.is_type_of is not None:
                raise Unplannable("is_type_of")
            collected = collect_subfields(
                self.schema, self.fragments, self.variables, self.operation, gtype, details
            )
            return Completion(OBJECT, selection=self.selection(gtype, collected.grouped_field_set))
        raise Unplannable("abstract_type")


def plan_operation(
    schema: GraphQLSchema,
    rules: Mapping[str, FieldRule],
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDetails],
    variables: VariableValues,
    grants: Mapping[str, str],
) -> Plan:
    """Unplannable naming what the planner does not execute."""
    if operation.operation is not OperationType.QUERY:
        raise Unplannable(operation.operation.value)
    root = schema.query_type
    if root is None:
        raise Unplannable("no_query_type")
    planner = _Planner(schema, rules, operation, fragments, variables, grants)
    try:
        collected = collect_fields(schema, fragments, variables, root, operation)
        selection = planner.selection(root, collected.grouped_field_set)
    except RecursionError:
        raise Unplannable("nested_too_deeply") from None
    return Plan(selection, planner.count)
