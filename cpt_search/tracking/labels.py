"""Placing point labels so that they do not overlap each other, the points or the plot's edge (pure).

A front plot labels a dozen presets and baselines that often sit within a few pixels of each other
(all static schedules at one cost, the ten presets at three mean bit-widths). A fixed offset makes
their names print on top of each other. :func:`place_labels` is a greedy placement in display
coordinates, in the spirit of the point-feature label placement heuristics (Christensen, Marks and
Shieber, "An empirical study of algorithms for point-feature label placement", ACM TOG 14(3), 1995):
labels are placed one at a time, each at the first free position on rings of growing radius around
its point, and a label moved far from its point gets a leader line (drawn by the caller). When no
free position exists the least-overlapping one is taken, so placement always ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in display pixels, y up

# Rings around the anchor (pixels) and directions tried on each (right, up-right, up, ... first: a
# label beside its point reads best).
RADII_PX = (6.0, 12.0, 20.0, 30.0, 42.0, 56.0, 72.0, 90.0)
DIRECTIONS = 16


@dataclass(frozen=True)
class Placement:
    """Where one label went.

    Attributes:
        box: the label's box in display pixels.
        dx_px, dy_px: offset of the box's anchor corner from the point.
        free: whether it overlaps nothing already placed (else the least-overlapping spot was taken).
        leader: whether it sits far enough from its point to need a line to it.
    """

    box: Box
    dx_px: float
    dy_px: float
    free: bool
    leader: bool


def overlap_area(a: Box, b: Box) -> float:
    """Area of the intersection of two boxes (0 when they only touch)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def place_labels(anchors_px: Sequence[tuple[float, float]], sizes_px: Sequence[tuple[float, float]],
                 bounds_px: Box, obstacles_px: Sequence[Box] = (), pad_px: float = 1.5) -> list[Placement]:
    """Boxes for labels of size ``sizes_px`` near ``anchors_px``, inside ``bounds_px``.

    Args:
        anchors_px: each label's point (display pixels).
        sizes_px: each label's ``(width, height)`` in pixels (measured by the caller's renderer).
        bounds_px: the area labels must stay in (the axes).
        obstacles_px: boxes to keep clear of besides the labels themselves (the plotted markers).
        pad_px: clearance kept around every box.
    """
    placed: list[Box] = []
    out: list[Placement] = []
    blocked = list(obstacles_px)
    for (x, y), (w, h) in zip(anchors_px, sizes_px):
        best: tuple[float, Placement] | None = None
        for radius in RADII_PX:
            for k in range(DIRECTIONS):
                angle = 2 * math.pi * k / DIRECTIONS
                cx, cy = x + radius * math.cos(angle), y + radius * math.sin(angle)
                # The box sits on the side of the point the direction points to.
                x0 = cx if math.cos(angle) > 1e-9 else (cx - w if math.cos(angle) < -1e-9 else cx - w / 2)
                y0 = cy if math.sin(angle) > 1e-9 else (cy - h if math.sin(angle) < -1e-9 else cy - h / 2)
                box = (x0 - pad_px, y0 - pad_px, x0 + w + pad_px, y0 + h + pad_px)
                outside = _outside_area(box, bounds_px)
                cost = outside * 10 + sum(overlap_area(box, other) for other in placed + blocked)
                candidate = Placement((x0, y0, x0 + w, y0 + h), x0 - x, y0 - y, cost == 0,
                                      radius > RADII_PX[1])
                if best is None or cost < best[0]:
                    best = (cost, candidate)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        chosen = best[1]
        out.append(chosen)
        placed.append((chosen.box[0] - pad_px, chosen.box[1] - pad_px, chosen.box[2] + pad_px,
                       chosen.box[3] + pad_px))
    return out


def _outside_area(box: Box, bounds: Box) -> float:
    area = (box[2] - box[0]) * (box[3] - box[1])
    return area - overlap_area(box, bounds)
