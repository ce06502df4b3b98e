"""Whether a space's cost constraint can be met at all, known before anything trains.

Training cost is a per-step sum of products of forward and gradient bit-widths (Fu et al., ICLR 2021,
Eq. 5; :mod:`cpt_search.costs`), so it grows with the bits of every step. No schedule of a space can
therefore cost less than the static schedule at the lowest forward bits and the lowest gradient bits
any of its steps can take (``min_bits``' low end, or a lower ``warmup_bits`` / ``cooldown_bits``
when warm-ups / cool-downs are allowed; ``min_grad_bits``' low end). That bound is exact when the
space contains the static schedule (``bits_span`` down to 0), and a safe floor otherwise: a
``max_relative_cost`` below it is impossible and refused by ``cpt-search validate`` and
``cpt-search run`` instead of sampling infeasible schedules until the search gives up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cpt_search.errors import ConfigError
from cpt_search.schedule import Schedule
from cpt_search.space import SearchSpace
from cpt_search.space.dimensions import Choices, Fixed


@dataclass(frozen=True)
class CostFloor:
    """The cheapest per-step bits any schedule of a space can use, and what they cost.

    Attributes:
        forward_bits: the lowest forward bits of any step.
        grad_bits: the lowest gradient bits of any step.
        relative_cost: the cost of those bits at every step, relative to FP32 training, over the
            space's ``cost_steps``.
    """

    forward_bits: int
    grad_bits: int
    relative_cost: float


def cost_floor(space: SearchSpace) -> CostFloor:
    """A lower bound on the relative cost of every schedule of ``space`` (see the module docstring)."""
    from cpt_search.search.suggest import relative_cost_of

    forward = [_lowest(space, "min_bits")]
    for phase in ("warmup", "cooldown"):
        if _highest_frac(space, f"{phase}_frac") > 0.0:
            forward += [v for v in _possible(space, f"{phase}_bits") if v is not None]  # None = max_bits
    forward_bits = int(min(forward))
    grad_bits = int(_lowest(space, "min_grad_bits"))
    static = Schedule(min_bits=forward_bits, max_bits=forward_bits, min_grad_bits=grad_bits,
                      max_grad_bits=grad_bits)
    return CostFloor(forward_bits, grad_bits, relative_cost_of(space, static))


def check_constraint_reachable(space: SearchSpace) -> None:
    """Refuse a ``constraints.max_relative_cost`` below :func:`cost_floor`.

    Raises:
        ConfigError: one line naming the file, the key, the limit, the floor and the fix.
    """
    limit = space.constraints.max_relative_cost
    if limit is None:
        return
    floor = cost_floor(space)
    if limit < floor.relative_cost:
        raise ConfigError(
            f"no schedule of the space can meet it: the cheapest possible (static "
            f"{floor.forward_bits}/{floor.grad_bits} bits) costs {floor.relative_cost:.4g} of FP32",
            where=space.source, key="constraints.max_relative_cost", value=limit,
            fix=f"raise it to at least {floor.relative_cost:.4g}, or lower min_bits / min_grad_bits")


def _possible(space: SearchSpace, name: str) -> list[Any]:
    dim = space.schedule[name]
    if dim is None:
        return []
    if isinstance(dim, Fixed):
        return [dim.value]
    if isinstance(dim, Choices):
        return list(dim.values)
    return [dim.bounds()[0]]


def _lowest(space: SearchSpace, name: str) -> int:
    return min(v for v in _possible(space, name) if v is not None)


def _highest_frac(space: SearchSpace, name: str) -> float:
    values = [v for v in _possible(space, name) if v is not None]
    dim = space.schedule[name]
    if dim is not None and not isinstance(dim, (Fixed, Choices)):
        values.append(dim.bounds()[1])
    return float(max(values, default=0.0))
