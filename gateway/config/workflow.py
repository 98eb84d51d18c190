"""The sections of govgraph.toml for access by application: `[applications]`, how they
are reviewed, and `[console]`, the web console people use (gateway/config/sections.py
holds the others, in the same form)."""

from __future__ import annotations

from pydantic import Field
from pydantic.dataclasses import dataclass

from gateway.config.sections import SECTION
from gateway.config.values import Count, Switch, Text

__all__ = ["ApplicationSettings", "ConsoleSettings"]


@dataclass(frozen=True, config=SECTION)
class ApplicationSettings:
    """[applications]: how applications for access (共享申请) are reviewed; needs `[auth] store`."""

    review_days: Count = Field(
        default=10,
        description="Working days a department has to decide a conditional (有条件共享) application.",
    )
    calendar: str = Field(
        default="CN",
        description="Country whose public holidays and make-up working days (调休) count, by ISO code "
        '(the `holidays` package); "" for Saturdays and Sundays only.',
    )
    timezone: Text = Field(default="Asia/Shanghai", description="The time zone working days are counted in.")
    max_period_days: Count = Field(
        default=1095, description="The longest period an approval may run, in days."
    )


@dataclass(frozen=True, config=SECTION)
class ConsoleSettings:
    """[console]: the web console at /console, for applicants, reviewers, auditors and residents."""

    enabled: Switch = Field(default=True, description="Serve the console (it needs `[auth] store`).")
    audience: Text = Field(
        default="govgraph-console",
        description="The `aud` of the identity provider's tokens people sign in with.",
    )
    session_secret: Text | None = Field(
        default=None, description="Key that signs session cookies (32 characters or more)."
    )
    session_minutes: Count = Field(default=30, description="Minutes a console session lasts without use.")
