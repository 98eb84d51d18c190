"""Synth runs the department phases in dependency order and streams their chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from random import Random

from . import certificates, credit, education, insurance, licences, market, population, tax
from .city import City
from .config import CityConfig
from .rows import Chunk

__all__ = ["Synth", "generate", "samples_of"]

Phase = Callable[[City, Random], Iterator[Chunk]]

# (random stream, phase) in dependency order. Each phase draws from its own Random seeded
# with f"{seed}/{stream}"; the stream names are those of the original Synth methods, and
# changing one changes every row of that phase. A new phase goes at the end, with its own
# stream, so the tables of earlier phases keep their rows.
PHASES: tuple[tuple[str, Phase], ...] = (
    ("_population", population.generate),
    ("_market", market.generate),
    ("_tax", tax.generate),
    ("_social_insurance", insurance.generate),
    ("_education", education.generate),
    ("_licences", licences.generate),
    ("_certificates", certificates.generate),
    ("_credit", credit.generate),
)


class Synth(City):
    """One city. Iterate `chunks()` once; `samples()` is then known."""

    def __init__(self, cfg: CityConfig) -> None:
        super().__init__(cfg)
        self._counts: dict[str, int] = {}
        self._done = False

    def chunks(self) -> Iterator[Chunk]:
        """(department, table, rows) chunks: every table's rows, parents before children."""
        if self.persons:
            raise RuntimeError("a Synth generates its city once")
        for stream, phase in PHASES:
            for chunk in phase(self, Random(f"{self.cfg.seed}/{stream}")):
                key = f"{chunk[0]}.{chunk[1]}"
                self._counts[key] = self._counts.get(key, 0) + len(chunk[2])
                yield chunk
        self._done = True

    def samples(self) -> dict[str, object]:
        if not self._done:
            raise RuntimeError("samples are known once every chunk has been generated")
        return {
            "seed": self.cfg.seed,
            "persons": self.cfg.persons,
            "as_of": self.cfg.as_of.isoformat(),
            "person_rows": self.persons,
            "counts": dict(self._counts),
            "cases": {case: list(found) for case, found in self.cases.items()},
        }


def generate(cfg: CityConfig) -> Iterator[Chunk]:
    """Yield (department, table, rows) chunks of at most ~50k rows, parents before children."""
    return Synth(cfg).chunks()


def samples_of(cfg: CityConfig) -> dict[str, object]:
    """The samples document of the city generate(cfg) yields (generates it, discarding rows)."""
    synth = Synth(cfg)
    for _ in synth.chunks():
        pass
    return synth.samples()
