"""Coverage factor k = t_p(ν) from Student's t (JJF 1059.1 §5.3.3, JCGM 100 G.3–G.4), with ν_eff
truncated to the next lower integer as JCGM 100 G.4.1 note 1 prescribes; ν = ∞ gives the normal z_p."""

from __future__ import annotations

import math
from functools import lru_cache

from scipy.special import ndtri, stdtrit

__all__ = ["coverage_factor", "effective_dof_for_k"]


def effective_dof_for_k(dof: float) -> float:
    """ν used for the t quantile: ∞ stays ∞, else floor(ν), at least 1."""
    if math.isinf(dof) or dof > 1e7:
        return math.inf
    return float(max(1, math.floor(dof)))


@lru_cache(maxsize=4096)
def _k(nu: float, p: float) -> float:
    q = (1 + p) / 2
    return float(ndtri(q)) if math.isinf(nu) else float(stdtrit(nu, q))


def coverage_factor(dof: float, p: float) -> float:
    """k such that ±k·u covers probability p for a t distribution with ν = floor(dof) degrees of freedom."""
    if not 0 < p < 1:
        raise ValueError(f"coverage probability must lie between 0 and 1, got {p}")
    if math.isnan(dof) or dof <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {dof}")
    return _k(effective_dof_for_k(dof), p)
