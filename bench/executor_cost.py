"""CPU per execution of one operation on the plan executor and on graphql-core's, in one
process, alternating rounds: what planning saves at the schema, without HTTP, audit or
departments (memory sources over the hand-made family of tests/resolvers/city.py).

    .venv/bin/python -m bench.executor_cost [--rounds 6] [--runs 400]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from gateway.execution.schema import build_schema
from resolvers.context import Context
from resolvers.loaders import Loaders
from tests.resolvers import city

REVIEW = """query($ids: [ResidentId!]!) { persons(ids: $ids) {
  id name gender birthDate age hasLocalHukou hukouDistrict { code name inXiamen }
  household { number kind members { relation person { name age } } head { name } }
  guardians { name residencePermit { number isValid }
    socialInsurance { status monthsContributed currentEmployer { name status } } }
  studentStatus { studentNumber grade enrolledMonth school { name level district { name } } }
  enrollmentApplications(year: 2025) { number status guardian { name } } } }"""
VARIABLES = {"ids": [city.CHILD, city.FATHER, city.MOTHER, city.BOSS]}


async def measure(rounds: int, runs: int) -> dict[str, list[float]]:
    catalog = city.catalog()
    schemas = {name: build_schema(executor=name) for name in ("plan", "strawberry")}
    spent: dict[str, list[float]] = {name: [] for name in schemas}
    for index in range(rounds + 1):  # the first round warms caches and plans, uncounted
        for name, schema in schemas.items():
            started = time.process_time()
            for _ in range(runs):
                context = Context(loaders=Loaders(catalog), principal=city.EVERYTHING, today=city.TODAY)
                result = await schema.execute(REVIEW, variable_values=VARIABLES, context_value=context)
                if result.errors:
                    raise SystemExit(f"{name}: {result.errors}")
            if index:
                spent[name].append((time.process_time() - started) / runs * 1e6)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.executor_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    spent = asyncio.run(measure(args.rounds, args.runs))
    for name, values in spent.items():
        print(
            f"{name:10} median {statistics.median(values):7.0f} µs CPU an execution",
            [round(v) for v in values],
        )
    print(
        f"strawberry ÷ plan: {statistics.median(spent['strawberry']) / statistics.median(spent['plan']):.2f}"
    )


if __name__ == "__main__":
    main()
