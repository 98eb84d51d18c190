"""A deterministic synthetic Xiamen whose seven department databases agree with each other.

`generate(cfg)` streams (department, table, rows) chunks in foreign-key order, `seed()`
loads them with binary COPY, and `samples_of()` / `seed()` return the samples document
that points demos and tests at interesting cases (migrant children, back-paid months...).
Every value comes from `random.Random` instances seeded from `cfg.seed`, so one config
always yields the same rows. Nobody in the city is real.

The phases run in dependency order, one module each: people (population); enterprises
with adult legal representatives (market); tax (enterprises); social insurance (people,
enterprises, and ratings for the samples: insurance); education (children and their
guardians' jobs); the licence library's enterprise licences (licences) and people's
certificates (certificates); the credit centre (credit: the licensing decisions the
library left, penalties and dishonesty lists drawn from tax ratings and arrears, a
warning per enterprise). Only compact summaries of earlier phases are kept (city),
never their rows, so a 1,000,000-person city streams in bounded memory. The word lists
are in names, licence_kinds and violations.
"""

from __future__ import annotations

from .config import COLUMNS, DEPARTMENTS, CityConfig
from .generator import Synth, generate, samples_of
from .loader import seed

__all__ = ["COLUMNS", "DEPARTMENTS", "CityConfig", "Synth", "generate", "samples_of", "seed"]
