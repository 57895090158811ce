"""The parameter count over a search space, for `tfspec summary`: the fewest and the most
parameters, and the points that have them. Every point is measured when the space has at most
EVERY_POINT of them (a float range counted by its two ends); otherwise the points `check`
lowers (each choice and range end, and the low and high corners)."""

from __future__ import annotations

from dataclasses import dataclass

from .point import at_point
from .space import show_point

EVERY_POINT = 128


@dataclass(frozen=True)
class ParamRange:
    low: int
    low_point: dict
    high: int
    high_point: dict
    points: int  # how many points were measured
    every: bool  # whether they are all the points of the space
    continuous: bool = False  # whether a float range without a step was measured at its ends only

    def render(self) -> str:
        which = f"all {self.points} points" if self.every else f"the {self.points} points checked"
        if self.every and self.continuous:
            which = f"{self.points} points: every choice, float ranges at their ends"
        if self.low == self.high:
            return f"Parameters over the search space ({which}): {self.low:,} at every point"
        return (
            f"Parameters over the search space ({which}): {self.low:,} to {self.high:,}\n"
            f"  fewest at {show_point(self.low_point)}\n"
            f"  most at {show_point(self.high_point)}"
        )


def param_range(spec) -> ParamRange | None:
    """None for a spec without a search section."""
    from ..loader import check_spec
    from ..summary import summary

    if spec.space is None:
        return None
    points = spec.space.every_point(EVERY_POINT)
    every = points is not None
    if points is None:
        points = spec.space.check_points()
    found = []
    for point in points:
        made = check_spec(at_point(spec.searched, point), spec.searched_spans, spec.source, spec.path)
        if isinstance(made, list):
            every = False  # a point outside those checked that fails is not counted
            continue
        found.append((summary(made).total_params, point))
    if not found:
        return None
    low = min(found, key=lambda item: item[0])
    high = max(found, key=lambda item: item[0])
    continuous = any(h.finite() is None for h in spec.space.hypers)
    return ParamRange(low[0], low[1], high[0], high[1], len(found), every, continuous)
