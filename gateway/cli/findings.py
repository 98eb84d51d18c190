"""What `govgraph check-config` found: every mistake, each once, and what it could not
check; a step that fails is recorded and the steps that do not depend on it still run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from gateway.config.variables import STAND_IN_MARK
from sources.errors import ConfigError

__all__ = ["FAILED", "Failed", "Findings"]

T = TypeVar("T")


class Failed:
    """What a failed step gave: the steps that need its result are skipped."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED = Failed()


@dataclass
class Findings:
    stand_ins: bool = False  # --no-env: a mistake quoting a stand-in is about no real value
    problems: list[str] = field(default_factory=list)  # one line each, `FILE:LINE: key: problem`
    unchecked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def attempt(self, step: Callable[[], T]) -> T | Failed:
        """`step()`, or FAILED with its ConfigError's lines recorded."""
        try:
            return step()
        except ConfigError as exc:
            self.add(str(exc))
            return FAILED

    def add(self, message: str) -> None:
        for line in message.splitlines():
            if self.stand_ins and STAND_IN_MARK in line:
                self._once(self.unchecked, f"{line} (a stand-in: the variable is not read with --no-env)")
            else:
                self._once(self.problems, line)

    @staticmethod
    def _once(lines: list[str], line: str) -> None:
        # A section read alone after the whole file failed reports its mistakes again.
        if line not in lines:
            lines.append(line)
