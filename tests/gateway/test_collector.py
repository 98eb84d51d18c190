"""Garbage-collector tuning for serving processes: applied, and undone at shutdown."""

from __future__ import annotations

import gc

from gateway.server.collector import tune_collector


def test_tuning_is_undone_by_what_it_returns() -> None:
    before = gc.get_threshold()
    restore = tune_collector(12_345)
    try:
        assert gc.get_threshold()[0] == 12_345
        assert gc.get_freeze_count() > 0
    finally:
        restore()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_zero_leaves_the_interpreter_alone() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    restore = tune_collector(0)
    try:
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == frozen
    finally:
        restore()
