"""The Guided Integrated Gradients path (Kapishnikov et al., CVPR 2021; spec §3).

The path starts at the baseline x' and ends at the input x in T steps. At step t (α = (t+1)/T) it
keeps every feature inside the window [α − max_dist, α + max_dist] of the straight line, and moves
the features of *lowest saliency* first (by default |∂S/∂x|: where the score is flat) until the L1
distance to the input has shrunk to L1_total·(1 − α). PAIR-code/saliency's ``guided_ig_impl`` does
this with a ``while`` loop of repeated quantiles; the moves need no new gradient, so here each step
is one closed-form selection:

1. lagging features (progress < α − max_dist) jump to the window's low edge x_min;
2. the features not yet at the high edge x_max are taken in groups of increasing saliency — each
   group the ``fraction`` of *all* features with the lowest saliency among those left (PAIR's
   quantile with method ``'lower'``), ties at the group's threshold all joining it — and the groups
   move to x_max until the L1 target is met, the last group only by the fraction γ that meets it.

The group thresholds are order statistics of the saliency, found by bisection on the bit patterns of
the (non-negative) saliency values: 31 passes of a count over the features per order statistic,
exact, and much cheaper on CPU/GPU than a full sort. ``ties="exact"`` reproduces PAIR exactly: the
next group starts after all ties of the previous threshold, so group boundaries are found one after
the other (a bounded ``while_loop``, ≤ 1/fraction + 1 groups, usually 1–2 per step).
``ties="rank"`` places group boundaries at fixed ranks (k+1)·i, needs no loop (three order
statistics per step whatever the number of groups crossed), and equals ``"exact"`` whenever no tie
straddles a boundary.

The T steps form a fixed-length ``lax.scan`` whose body makes exactly one ``observe`` call (one
forward + backward pass); the batch is vmapped, each image following its own path. The scan is not
differentiated, so memory does not grow with T.

Precision: the reference keeps the path in float64 and stops a step when the L1 distance is within
1e-9 (relative) of its target. Here the path runs in the input's dtype; in float32 a step counts as
done within ``rtol`` = 1e-6 of L1_total (1e-9 in float64).
"""

from __future__ import annotations

import functools
from typing import Callable

import chex
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.options import STEPS, Option
from gigjax.validation import check_choice, check_fraction, check_positive_int, is_concrete
from gigjax.paths.base import Observe, PathStep, Term, tree_add, tree_zeros_like

TIE_RULES = ("exact", "rank")

# The Guided IG path's options, declared once: the defaults of guided_path / guided_step and the
# options of the methods that walk the path (gigjax.methods.integrated).
GUIDED_STEPS = STEPS.but(default=200)  # PAIR's default
FRACTION = Option(0.25, "Guided IG: fraction of the remaining features moved per step", check=check_fraction)
MAX_DIST = Option(0.02, "Guided IG: largest distance from the straight line (0 gives the straight line)",
                  check=functools.partial(check_fraction, low_open=False))
TIES = Option("exact", "Guided IG: features tied at a step's threshold move together (exact, PAIR) or in "
                       "fixed-rank groups (rank)", choices=TIE_RULES)


def _bit_dtypes(dtype) -> tuple[jnp.dtype, int]:
    """(signed integer type of the same width, number of bisection passes) for a float dtype."""
    if jnp.dtype(dtype) == jnp.float64:
        return jnp.int64, 63
    return jnp.int32, 31


def _smallest(pred: Callable[[jax.Array], jax.Array], top: jax.Array, passes: int) -> jax.Array:
    """The smallest b in [0, top] with ``pred(b)`` true, for a monotone ``pred`` true at ``top``."""

    def body(_, bounds):
        lo, hi = bounds
        mid = lo + (hi - lo) // 2
        ok = pred(mid)
        return jnp.where(ok, lo, mid + 1), jnp.where(ok, mid, hi)

    _, hi = jax.lax.fori_loop(0, passes, body, (jnp.zeros_like(top), top))
    return hi


def _select_groups(bits, capacity, needed, k, tol, ties, top, passes):
    """Chooses the groups that move at this step.

    Args:
      bits: (N,) integer bit patterns of the saliency (monotone in it), ``top`` for finished features.
      capacity: (N,) |x − x_max|, how far each feature can still move (0 for finished ones).
      needed: () the L1 distance still to cover in this step.
      k: features per group minus one, floor(fraction · (N − 1)).

    Returns:
      (lo, hi, gamma): features with bits ≤ lo move fully to x_max, those in (lo, hi] by gamma.
    """
    left = jnp.sum(bits < top)
    count_le = lambda b: jnp.sum(bits <= b)
    cum_le = lambda b: jnp.sum(jnp.where(bits <= b, capacity, 0))
    order_stat = lambda r: _smallest(lambda b: count_le(b) >= r + 1, top, passes)
    none = jnp.asarray(-1, bits.dtype)
    zero = jnp.zeros((), capacity.dtype)
    idle = (needed <= tol) | (left == 0)

    if ties == "exact":
        def cond(state):
            return ~state[-1]

        def body(state):
            lo, cum_lo, _, _, _ = state
            hi = order_stat(jnp.minimum(count_le(lo) + k, left - 1))
            cum_hi = cum_le(hi)
            done = (cum_hi >= needed - tol) | (count_le(hi) >= left)
            return (jnp.where(done, lo, hi), jnp.where(done, cum_lo, cum_hi), hi, cum_hi, done)

        lo, cum_lo, hi, cum_hi, _ = jax.lax.while_loop(cond, body, (none, zero, none, zero, idle))
    else:
        first = _smallest(lambda b: cum_le(b) >= needed - tol, top, passes)
        start = jnp.sum(bits < first) // (k + 1) * (k + 1)
        lo = jnp.where(start > 0, order_stat(start - 1), none)
        hi = order_stat(jnp.minimum(start + k, left - 1))
        lo, hi = jnp.where(idle, none, lo), jnp.where(idle, none, hi)
        cum_lo, cum_hi = cum_le(lo), cum_le(hi)
    span = cum_hi - cum_lo
    gamma = jnp.where(span > 0, (needed - cum_lo) / jnp.where(span > 0, span, 1), 0)
    return lo, hi, jnp.clip(gamma, 0, 1)


def guided_step(x: jax.Array, saliency: jax.Array, x_input: jax.Array, x_baseline: jax.Array,
                alpha: jax.Array, *, fraction: float = FRACTION.default, max_dist: float = MAX_DIST.default,
                ties: str = TIES.default, rtol: float | None = None) -> jax.Array:
    """One Guided IG move of ONE image: the next path point after x, whose step ends at ``alpha``.

    ``fraction``, ``max_dist`` and ``alpha`` may be traced values.

    Args:
      x: (*F) the current point; saliency: (*F) (or broadcastable) selection signal, lowest moved first
        (Guided IG: |∂S/∂x| at x); x_input, x_baseline: (*F) the path's end and start.
      alpha: () the step's end on the straight-line scale, (t+1)/T.
      fraction, max_dist, ties: see the module docstring; rtol: "target reached" tolerance relative to
        L1_total (default 1e-6 in float32, 1e-9 in float64).

    Returns:
      (*F) the next point, with ‖next − x_input‖₁ = L1_total·(1 − alpha) (within rtol).
    """
    shape = x.shape
    dtype = x.dtype
    itype, passes = _bit_dtypes(dtype)
    if rtol is None:
        rtol = 1e-9 if itype == jnp.int64 else 1e-6
    x, x_input, x_baseline = (jnp.ravel(v) for v in (x, x_input, x_baseline))
    saliency = jnp.ravel(jnp.broadcast_to(saliency, shape)).astype(dtype)
    n = x.size
    if isinstance(fraction, (int, float, np.number)):  # exactly as numpy's quantile index, in float64
        k = int(np.floor(float(fraction) * (n - 1)))
    else:
        k = jnp.floor(jnp.asarray(fraction, dtype) * (n - 1)).astype(jnp.int32)

    alpha = jnp.asarray(alpha, dtype)
    a_min = jnp.maximum(alpha - max_dist, 0)
    a_max = jnp.minimum(alpha + max_dist, 1)
    diff = x_input - x_baseline
    x_min = x_baseline + diff * a_min
    x_max = x_baseline + diff * a_max
    moving = diff != 0
    progress = jnp.where(moving, (x - x_baseline) / jnp.where(moving, diff, 1), a_max)
    x = jnp.where(progress < a_min, x_min, x)

    l1_total = jnp.sum(jnp.abs(diff))
    needed = jnp.sum(jnp.abs(x - x_input)) - l1_total * (1 - alpha)
    capacity = jnp.abs(x - x_max)
    top = jax.lax.bitcast_convert_type(jnp.asarray(jnp.inf, dtype), itype)
    bits = jnp.where(capacity > 0, jax.lax.bitcast_convert_type(jnp.abs(saliency), itype), top)
    lo, hi, gamma = _select_groups(bits, capacity, needed, k, rtol * l1_total, ties, top, passes)
    full = bits <= lo
    part = (bits > lo) & (bits <= hi)
    x = jnp.where(full, x_max, jnp.where(part, x + (x_max - x) * gamma, x))
    return x.reshape(shape)


def check_guided(steps, fraction, max_dist, ties) -> None:
    """Raises :class:`GigjaxError` for invalid Guided IG settings (traced values are not checked)."""
    check_positive_int(steps, "steps")
    for name, value, low_open in (("fraction", fraction, True), ("max_dist", max_dist, False)):
        if is_concrete(value):
            check_fraction(value, name, low_open=low_open)
    check_choice(ties, "ties", TIE_RULES)


def guided_path(observe: Observe, term: Term, x: jax.Array, baseline: jax.Array, *,
                signal: Callable[[object], jax.Array], steps: int = GUIDED_STEPS.default,
                fraction: float = FRACTION.default, max_dist: float = MAX_DIST.default, ties: str = TIES.default):
    """Σ_t term(observe(x_t), step_t) along the Guided IG path from ``baseline`` to ``x``.

    Args:
      observe: the step's one model evaluation on the (B, *F) points x_t.
      term: the per-step contribution (see :class:`gigjax.paths.PathStep`; Δ_t = x_{t+1} − x_t,
        weight 1).
      x: (B, *F) inputs; baseline: (B, *F) baselines (the path starts there).
      signal: ``observation → (B, *F)`` saliency (or broadcastable) choosing which features move;
        Guided IG uses |∂S/∂x|.
      steps, fraction, max_dist, ties: T and PAIR's parameters (defaults 200, 0.25, 0.02) and the
        tie rule (module docstring); ``fraction`` and ``max_dist`` may be traced.

    Returns:
      The summed pytree of ``term`` outputs.
    """
    check_guided(steps, fraction, max_dist, ties)
    dtype = jnp.float64 if x.dtype == jnp.float64 else jnp.float32
    x, baseline = x.astype(dtype), jnp.broadcast_to(baseline, x.shape).astype(dtype)
    move = jax.vmap(functools.partial(guided_step, fraction=fraction, max_dist=max_dist, ties=ties),
                    in_axes=(0, 0, 0, 0, None))

    def contribution(obs, point, nxt):
        return term(obs, PathStep(point=point, displacement=nxt - point, weight=jnp.ones((), dtype)))

    def body(carry, t):
        point, acc = carry
        obs = observe(point)
        saliency = signal(obs)
        chex.assert_rank(saliency, x.ndim)  # (B, *F) or broadcastable, e.g. (B, H, W, 1)
        nxt = move(point, jnp.broadcast_to(saliency, x.shape), x, baseline, (t + 1) / steps)
        return (nxt, tree_add(acc, contribution(obs, point, nxt))), None

    obs_shape = jax.eval_shape(observe, baseline)
    zeros = tree_zeros_like(jax.eval_shape(contribution, obs_shape, baseline, baseline))
    (_, total), _ = jax.lax.scan(body, (baseline, zeros), jnp.arange(steps, dtype=dtype))
    return total
