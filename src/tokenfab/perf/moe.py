"""Mixture-of-experts arithmetic: experts touched, load imbalance across expert-parallel ranks, redundant experts.

All functions are pure and NumPy-vectorized. A step's expert layer waits for its busiest rank, so the time is set by
the maximum over ranks, not the mean:

- Token assignments. T tokens each pick k of E experts: N = T k assignments over EP ranks. With routing uniform over
  experts the per-rank count is a sum of many independent draws; its maximum over EP ranks is, by the balls-into-bins
  bound (Raab & Steger, "Balls into Bins -- A Simple and Tight Analysis", RANDOM 1998), about
  m + sqrt(2 m ln EP) for m = N / EP >= ln EP. On top of that statistical imbalance, real routers prefer some experts
  (DeepSeek-V3 technical report, arXiv:2412.19437, sec. 2.1.2 and 3.4: auxiliary-loss-free balancing and redundant
  experts exist because "expert load" is uneven); a fitted factor ``moe_skew`` (>= 0) scales the mean load of the
  busiest rank: imbalance = (1 + moe_skew) (1 + sqrt(2 ln EP / m)), capped at EP (every assignment on one rank).
  Balancers with redundant experts (EPLB) reduce the skew (engines.yaml ``eplb_skew_factor``).
- Experts touched. Each of the h experts hosted on a rank is hit with probability q = 1 - (1 - k/E)^T; the number
  touched is Binomial(h, q), and the busiest rank touches about h q + sqrt(2 ln EP h q (1 - q)) (normal tail of
  the maximum), at most h. In the memory-bound decode regime this sets the weight bytes the busiest rank streams.
- Redundant experts: EP ranks that do not divide E hold ceil(E / EP) expert slots each; the E_slots - E extra slots
  host replicas of popular experts (EPLB, DeepSeek-V3 sec. 3.4), so memory counts slots, not experts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def expert_slots(num_experts: ArrayLike, ep: ArrayLike) -> np.ndarray:
    """Expert slots per rank when ``num_experts`` are spread over ``ep`` ranks (ceil: redundant replicas fill the
    rest); one rank holds everything when ep == 1."""
    e = np.asarray(num_experts, dtype=float)
    ep = np.maximum(np.asarray(ep, dtype=float), 1.0)
    return np.ceil(e / ep - 1e-9)


def hit_probability(num_experts: ArrayLike, experts_per_token: ArrayLike, tokens: ArrayLike) -> np.ndarray:
    """Probability that one given expert is chosen by at least one of ``tokens`` tokens (uniform routing)."""
    e = np.maximum(np.asarray(num_experts, dtype=float), 1.0)
    k = np.asarray(experts_per_token, dtype=float)
    t = np.maximum(np.asarray(tokens, dtype=float), 0.0)
    return 1.0 - np.power(np.clip(1.0 - k / e, 0.0, 1.0), t)


def expected_experts_touched(num_experts: ArrayLike, experts_per_token: ArrayLike, tokens: ArrayLike) -> np.ndarray:
    """Expected distinct experts hit when ``tokens`` tokens each pick ``experts_per_token`` of ``num_experts``."""
    return np.asarray(num_experts, dtype=float) * hit_probability(num_experts, experts_per_token, tokens)


def _max_over_ranks(mean: ArrayLike, var: ArrayLike, ranks: ArrayLike) -> np.ndarray:
    """Normal approximation of the maximum of ``ranks`` i.i.d. counts of a given mean and variance."""
    r = np.maximum(np.asarray(ranks, dtype=float), 1.0)
    return np.asarray(mean, dtype=float) + np.sqrt(2.0 * np.log(r) * np.maximum(np.asarray(var, dtype=float), 0.0))


def busiest_rank_experts_touched(
    num_experts: ArrayLike, experts_per_token: ArrayLike, tokens: ArrayLike, ep: ArrayLike
) -> np.ndarray:
    """Experts the busiest of ``ep`` ranks touches (each rank hosts expert_slots(E, ep) of them)."""
    h = expert_slots(num_experts, ep)
    q = hit_probability(num_experts, experts_per_token, tokens)
    return np.minimum(h, _max_over_ranks(h * q, h * q * (1.0 - q), ep))


def load_imbalance(tokens: ArrayLike, experts_per_token: ArrayLike, ep: ArrayLike, skew: ArrayLike) -> np.ndarray:
    """Busiest rank's token-expert assignments over the mean (>= 1): statistical (balls into bins) times routing
    skew, capped at ``ep``."""
    ranks = np.maximum(np.asarray(ep, dtype=float), 1.0)
    m = np.maximum(np.asarray(tokens, dtype=float) * np.asarray(experts_per_token, dtype=float) / ranks, 1e-9)
    stat = 1.0 + np.sqrt(2.0 * np.log(ranks) / m)
    out = (1.0 + np.maximum(np.asarray(skew, dtype=float), 0.0)) * stat
    return np.where(ranks > 1, np.minimum(out, ranks), 1.0)
