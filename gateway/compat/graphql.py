"""What the plan executor uses of graphql-core 3.3 that graphql-core does not document:
field collection (fragments, `@include`/`@skip`) and argument coercion, as its own
executor does them, so that a plan selects and coerces exactly what it would."""

from __future__ import annotations

from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_fields, collect_subfields
from graphql.execution.values import VariableValues, get_argument_values

__all__ = [
    "FieldDetails",
    "FragmentDetails",
    "VariableValues",
    "collect_fields",
    "collect_subfields",
    "get_argument_values",
]
