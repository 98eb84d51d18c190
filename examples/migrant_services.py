"""A sixth department, for docs/adding-a-source.md: the migrant-population service centre
(流动人口服务管理中心), which issues residence permits (居住证) and answers for them over REST.

This stand-in serves the demo city's permits (read from the population register's
database) with the batch endpoint the gateway's `http` adapter expects:

    POST /v1/residence_permits:batchGet  {"keys": ["<resident id>", ...]}
      -> {"items": [{"person_id": ..., "permit_no": ..., "district": ..., "address": ...,
                     "issued_on": ..., "valid_until": ..., "status": ...}, ...]}

    .venv/bin/python examples/migrant_services.py --port 8701 \\
        --dsn 'postgresql://gg_public_security@/gg_public_security?host=.govgraph/pg'

The DSN is the `department public_security` line `make demo` prints.
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from demo.departments.rest import Endpoint, make_app

ENDPOINTS = {"residence_permits": Endpoint(table="residence_permit", key="person_id")}


def department(dsn: str) -> web.Application:
    """The centre's REST service over a database holding a `residence_permit` table."""
    return make_app(dsn, ENDPOINTS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", required=True, help="PostgreSQL DSN of a database with the permits")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    args = parser.parse_args(argv)
    print(f"migrant_services: http://{args.host}:{args.port}  (Ctrl-C stops it)", flush=True)
    web.run_app(department(args.dsn), host=args.host, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
