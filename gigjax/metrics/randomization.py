"""The model-parameter randomisation test, MPRT (Adebayo et al. 2018, "Sanity checks for saliency
maps"; Quantus ``MPRT`` with ``layer_order="top_down"``; spec §12).

The model's layers are re-initialised cumulatively from the output down: stage s (s = 0 … L−1) has
the top s + 1 layers randomised. At each stage the image is explained again (same explainer, same
class) and compared with the original map by Spearman's rank correlation (average ranks for ties, as
``scipy.stats.spearmanr``). A method that depends on the model should decorrelate quickly: **lower
is better**. The figure is the mean over the stages (Quantus ``return_average_correlation``), the
curve the correlation per stage.

Layers are the top-level entries of the Model pytree's ``variables["params"]`` (or of a
:meth:`Model.from_function` model's dict of parameters; no surgery): ordered
as the card lists them (``card.layers`` then ``card.classifier``) when the card names them all, else
in the variables' own order (Flax's creation order). So Lite0 has 19 stages (fc, head, blocks_15 …
blocks_0, stem), coarser than Quantus's per-``nn.Module`` resets. Other collections (BatchNorm
statistics) are kept. A randomised leaf is redrawn from a normal with the original leaf's own mean
and standard deviation (:func:`redraw`; activations keep their scale), from ``key`` folded with the
layer's index, the same for every image; a stage whose randomised map is constant gives NaN.
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError


def _param_tree(model) -> tuple[Mapping, Callable]:
    """(the layers' mapping, ``new layers → new variables``): linen ``variables["params"]``, or a plain
    dict of parameters (a :meth:`Model.from_function` model)."""
    variables = model.variables
    if isinstance(variables, Mapping) and "params" in variables:
        return variables["params"], lambda new: {**variables, "params": new}
    if type(variables) is dict and variables:
        return variables, lambda new: new
    raise GigjaxError(f"randomization: model {model.card.name!r} has no 'params' to randomise (it needs linen "
                      f"variables or a dict of parameters, got {type(variables).__name__})")


def layer_groups(model) -> tuple[str, ...]:
    """The model's layers, input → output: the top-level keys of ``variables["params"]`` (module docstring)."""
    names = tuple(_param_tree(model)[0])
    if not names:
        raise GigjaxError(f"randomization: model {model.card.name!r} has no 'params' to randomise")
    card = model.card
    listed = tuple(dict.fromkeys(p.split("/")[0] for p in (*card.layers, card.classifier or "") if p))
    if set(names) <= set(listed):
        return tuple(n for n in listed if n in names)
    return names


def redraw(key: jax.Array, leaf: jax.Array) -> jax.Array:
    """A leaf redrawn from ``N(mean(leaf), std(leaf)²)`` (its shape and dtype)."""
    noise = jax.random.normal(key, leaf.shape, jnp.float32)
    return (jnp.mean(leaf) + jnp.std(leaf) * noise).astype(leaf.dtype)


def randomized_models(model, key: jax.Array, init: Callable = redraw) -> Callable:
    """``stage (traced int) → Model`` with the top ``stage + 1`` layers of :func:`layer_groups`
    re-initialised by ``init(key, leaf)`` (keys folded per layer, then per leaf; non-float leaves kept)."""
    groups = layer_groups(model)
    params, rebuild = _param_tree(model)
    fresh = {}
    for index, name in enumerate(groups):
        leaves, tree = jax.tree_util.tree_flatten(params[name])
        layer_key = jax.random.fold_in(key, index)
        fresh[name] = jax.tree_util.tree_unflatten(
            tree, [init(jax.random.fold_in(layer_key, i), leaf) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf
                   for i, leaf in enumerate(leaves)])

    def at(stage):
        top = len(groups) - 1 - stage
        new = dict(params)
        for index, name in enumerate(groups):
            new[name] = jax.tree_util.tree_map(lambda o, r, i=index: jnp.where(i >= top, r, o),
                                               params[name], fresh[name])
        return model.replace(variables=rebuild(new))

    return at


def average_ranks(v: jax.Array) -> jax.Array:
    """(n,) → (n,) 1-based ranks, ties sharing their average rank."""
    s = jnp.sort(v)
    low, high = jnp.searchsorted(s, v, side="left"), jnp.searchsorted(s, v, side="right")
    return (low + high + 1).astype(jnp.float32) / 2.0


def spearman(a: jax.Array, b: jax.Array) -> jax.Array:
    """(B, …) × (B, …) → (B,) Spearman rank correlation per row (NaN when either row is constant)."""
    ra = jax.vmap(average_ranks)(a.reshape(a.shape[0], -1))
    rb = jax.vmap(average_ranks)(b.reshape(b.shape[0], -1))
    ra, rb = ra - ra.mean(axis=1, keepdims=True), rb - rb.mean(axis=1, keepdims=True)
    return jnp.sum(ra * rb, axis=1) / jnp.sqrt(jnp.sum(ra * ra, axis=1) * jnp.sum(rb * rb, axis=1))


def randomization_curve(model, x: jax.Array, maps: jax.Array, classes: jax.Array, explain: Callable,
                        key: jax.Array, init: Callable = redraw) -> jax.Array:
    """MPRT correlations of a batch.

    Args:
      model: the gigjax Model.
      x: (B, H, W, C) normalised input.
      maps: (B, H, W) the explanation on the original model.
      classes: (B,) int explained class.
      explain: ``(model, x, classes) → (B, H, W) maps``, the explainer under evaluation.
      key: PRNG key of the re-initialisation (shared by the batch, so every image sees the same models).
      init: ``(key, leaf) → leaf``, the re-initialisation (default :func:`redraw`).

    Returns:
      (B, L) Spearman correlation of the map after randomising the top 1, 2, …, L layers.
    """
    at = randomized_models(model, key, init)
    stages = jnp.arange(len(layer_groups(model)))
    return jax.lax.map(lambda s: spearman(maps, explain(at(s), x, classes)), stages).T
