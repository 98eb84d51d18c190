"""The migrant-population service centre (流动人口服务管理中心), for
docs/publishing-a-department.md: a department that publishes its residence registrations
(居住登记) by catalogue and answers for them over REST, as the demo's REST departments do:

    POST /v1/residence_registrations:batchGet  {"keys": ["<resident id>", ...]}
      -> {"items": [{"person_id": ..., "registration_no": ..., "address": ..., "district": ...,
                     "housing": ..., "registered_on": ..., "valid_until": ..., "status": ...,
                     "police_station": ...}, ...]}
    POST /v1/residence_permits:batchGet  {"keys": [...]}  -> the permits (居住证), as the
      population register holds them, for a gateway that moves them to the centre

A key with no record is absent from `items`. This stand-in has no database of its own:
it derives the registrations from the demo city's residence permits (the population
register's `residence_permit` table), one or two per holder, by this rule, with s the
permit number's last eight digits (its serial):

- the registration the permit was issued on: at the permit's address and district,
  registered 183 + s % 90 days before the permit was issued, valid until the permit is,
  status the permit's (有效 or 过期); housing 租赁 when s is odd, else 自有, 单位宿舍 or
  租赁 for s // 2 % 3 = 0, 1, 2;
- when s is odd, the lease registered a year before it at the same address (租赁),
  valid until the day before the later one was registered, status 注销 (superseded);
- numbered district + year registered + s (8 digits) + its place among the holder's
  registrations (01, 02), oldest first; registered by the police station named after the
  district and the address's road: 福建省厦门市翔安区马巷路602号… is
  厦门市公安局翔安分局马巷派出所.

    .venv/bin/python examples/migrant_services.py --port 8701 \\
        --dsn 'postgresql://gg_public_security@/gg_public_security?host=.govgraph/pg'

The DSN is the `department public_security` line `make demo` prints.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import asyncpg
import orjson
from aiohttp import web

__all__ = ["department", "registrations"]

Row = Mapping[str, Any]

_HOUSING = ("自有", "单位宿舍", "租赁")
_ROAD = re.compile(r"^福建省厦门市(?P<district>..)区(?P<road>.+?)[东西南北中]?(?:大道|路|道|街)\d")
_PERMITS = "SELECT * FROM residence_permit WHERE person_id = ANY($1::text[]) ORDER BY person_id"
_POOL = web.AppKey("pool", asyncpg.Pool)


def police_station(address: str) -> str | None:
    """The station registering residents at `address`: its district's branch, its road's
    station (None for an address outside Xiamen's districts)."""
    found = _ROAD.match(address)
    return None if found is None else f"厦门市公安局{found['district']}分局{found['road']}派出所"


def registrations(permit: Row) -> list[dict[str, Any]]:
    """The residence registrations of a permit's holder, oldest first (the rule above)."""
    serial = int(permit["permit_no"][-8:])
    issued: dt.date = permit["issued_on"]
    current = {
        "registered_on": issued - dt.timedelta(days=183 + serial % 90),
        "valid_until": permit["valid_until"],
        "status": permit["status"],
        "housing": "租赁" if serial % 2 else _HOUSING[serial // 2 % 3],
    }
    found = [current]
    if serial % 2:
        renewed: dt.date = current["registered_on"]
        earlier = {
            "registered_on": renewed - dt.timedelta(days=365),
            "valid_until": renewed - dt.timedelta(days=1),
            "status": "注销",
            "housing": "租赁",
        }
        found.insert(0, earlier)
    return [
        {
            "person_id": permit["person_id"],
            "registration_no": f"{permit['district']}{r['registered_on']:%Y}{serial:08d}{n:02d}",
            "address": permit["address"],
            "district": permit["district"],
            "police_station": police_station(permit["address"]),
            **r,
        }
        for n, r in enumerate(found, start=1)
    ]


ENTITIES: dict[str, Callable[[Row], list[dict[str, Any]]]] = {
    "residence_registrations": registrations,
    "residence_permits": lambda permit: [dict(permit)],
}


def department(dsn: str) -> web.Application:
    """The centre's REST service over a database holding a `residence_permit` table."""

    async def batch_get(request: web.Request) -> web.Response:
        derive = ENTITIES.get(request.match_info["entity"])
        if derive is None:
            raise web.HTTPNotFound(text="no such entity")
        try:
            keys = orjson.loads(await request.read())["keys"]
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise web.HTTPBadRequest(text='expected {"keys": [string, ...]}') from None
        try:
            permits = await request.app[_POOL].fetch(_PERMITS, keys)
        except asyncpg.DataError:  # keys the database cannot take (a NUL byte)
            raise web.HTTPUnprocessableEntity(text="keys must be text without NUL") from None
        items = [record for permit in permits for record in derive(permit)]
        return web.Response(body=orjson.dumps({"items": items}), content_type="application/json")

    async def pool(app: web.Application) -> AsyncIterator[None]:
        app[_POOL] = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        yield
        await app[_POOL].close()

    app = web.Application()
    app.cleanup_ctx.append(pool)
    app.router.add_post("/v1/{entity}:batchGet", batch_get)
    return app


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
