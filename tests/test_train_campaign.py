"""A seeded sample of the train campaign (tests/train_campaign.py): every generated spec is refused
by `check` with positions, trains, or stops with a one-line error. No tracebacks."""

from __future__ import annotations

import pytest

from .train_campaign import campaign


@pytest.mark.slow
def test_check_passes_then_train_trains_or_says_why_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    report = campaign(70, seed=11, folder=str(tmp_path))
    assert report["failures"] == [], report["failures"][:3]
    assert report["tracebacks"] == 0 and report["other_failures"] == 0
    # every outcome is reached, so the sample proves something of each
    assert report["refused_by_check"] >= 10 and report["trained"] >= 5 and report["one_line_errors"] >= 5, report
