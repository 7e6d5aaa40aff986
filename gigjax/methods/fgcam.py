"""FG-CAM (Qiu et al., AAAI 2024; official code dongmo-qcq/FG-CAM): fine-grained CAM by redistributing
the Grad-CAM (or Score-CAM) components layer by layer down to any earlier layer or the input (spec §6).

1. At the plan's *base* layer (VGG16: pool5) the per-channel components I_k = w_k A_k are formed, not
   summed (``base="gradcam"``: w = mean ∂S/∂A; ``base="scorecam"``: the official Score-CAM weights).
2. Optionally denoised (``denoise=True``: each image's I as K × (h·w), rows centred, top 10 % singular
   components kept; :func:`gigjax.relevance.denoise`).
3. Walked down the network with the rules of :mod:`gigjax.relevance` (conv: positive/negative split;
   first conv: box rule; max-pool: to the winner; ReLU, ReLU6 and BatchNorm: passed through) to
   ``target_layer`` (``"input"``, the default, or a layer named by the plan).
4. Raw map = Σ_k I at that layer; the shared post-processing then applies ReLU → N → resize.

The walk is described by a :class:`Plan` of steps (:class:`Conv`, :class:`Pool`, :class:`Pass`,
:class:`Residual`) whose paths are the model's Flax module paths. The activations each rule needs are
recorded by one forward pass (:func:`gigjax.surgery.record_calls`), and each rule re-applies the
module's own operation, so the plan names modules and never re-implements them. Plans exist for
``vgg16`` (the official rules), and, as gigjax's own extensions (no official code exists),
``resnet50`` (spec §6: BatchNorm folded into its conv, the residual add split in proportion to the
positive parts of its two branches) and ``efficientnet_lite0`` (the same, with ReLU6 passed through
like ReLU and the depthwise convolutions under the conv rule). Each plan is declared beside its
architecture and carried by its card (``ModelCard.relevance_plan``, :mod:`gigjax.models.relevance_plan`);
a model without one is a :class:`GigjaxError`.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from gigjax import relevance as rules
from gigjax.errors import GigjaxError
from gigjax.methods.gradcam import channel_weights
from gigjax.methods.perturb import fixed_classes
from gigjax.methods.scorecam import scorecam_weights
from gigjax.models import Model
from gigjax.models.relevance_plan import Conv, Pass, Plan, Pool, Residual, Step  # noqa: F401  (re-exported)
from gigjax.options import CHUNK, Option
from gigjax.probe import probe
from gigjax.registry import Method, register
from gigjax.surgery import Call, record_calls
from gigjax.targets import Targets
from gigjax.validation import check_bool

INPUT = "input"
DENOISE = Option(False, "keep the top 10 % singular components of the base components", check=check_bool)
BASE = Option("gradcam", "the base layer's channel weights: Grad-CAM's or the official Score-CAM's",
              choices=("gradcam", "scorecam"))


def plan_for(model: Model) -> Plan:
    """The model's relevance plan, built by its card's ``relevance_plan``."""
    if model.card.relevance_plan is None:
        raise GigjaxError(f"FG-CAM has no relevance plan for {model.card.name!r}: give its ModelCard a "
                          f"relevance_plan (a function model → gigjax.models.relevance_plan.Plan)")
    return model.card.relevance_plan(model)


def _bias_free(call: Call, kernel: jax.Array) -> dict:
    """The module's variables with ``kernel`` replacing its own and every other parameter zeroed."""
    params = {k: (kernel if k == "kernel" else jnp.zeros_like(v)) for k, v in call.variables["params"].items()}
    return {**call.variables, "params": params}


def _conv_back(step: Conv, calls: dict[str, Call], r: jax.Array) -> jax.Array:
    call = calls[step.conv]
    kernel = call.variables["params"]["kernel"]
    if step.bn is not None:
        bn = calls[step.bn]
        scale = bn.variables.get("params", {}).get("scale", jnp.ones_like(bn.variables["batch_stats"]["var"]))
        kernel = rules.fold_batch_norm(kernel, scale, bn.variables["batch_stats"]["var"], bn.module.epsilon)

    def op(v, w):
        return call.apply(v, _bias_free(call, w))

    rule = rules.box_rule if step.first else rules.conv_rule
    return rule(op, call.input, kernel, r)


def _output(step: Step, calls: dict[str, Call]) -> jax.Array:
    if isinstance(step, (Conv, Pool)):
        return calls[step.out].output
    raise GigjaxError(f"a residual branch must end with a convolution or a pool, not {type(step).__name__}")


def _walk(steps: tuple[Step, ...], r: jax.Array, calls: dict[str, Call], stop: str | None = None):
    """Relevance at the output of ``steps`` → at their input (or at the point named ``stop``)."""
    for step in reversed(steps):
        if stop is not None and stop in step.names:
            return r
        if isinstance(step, Conv):
            r = _conv_back(step, calls, r)
        elif isinstance(step, Pool):
            r = rules.winner_rule(calls[step.path].apply, calls[step.path].input, r)
        elif isinstance(step, Residual):
            shortcut_out = _output(step.shortcut[-1], calls) if step.shortcut else calls[step.path].input
            r_main, r_short = rules.split_rule((_output(step.main[-1], calls), shortcut_out), r)
            r = _walk(step.main, r_main, calls) + _walk(step.shortcut, r_short, calls)
    return r


def fgcam_components(model: Model, x: jax.Array, targets: Targets, plan: Plan, *, base: str = BASE.default,
                     denoise: bool = DENOISE.default, batch_size: int = CHUNK.default) -> tuple[jax.Array, jax.Array]:
    """The base layer's components I_k = w_k A_k (B, h, w, K) and the target classes (B,)."""
    result = probe(model, x, targets, (plan.base,), input_gradient=False)
    a = result.activations[plan.base]
    chex.assert_rank(a, 4)
    if base == "gradcam":
        weights = channel_weights(result.gradients[plan.base])
    else:
        _, classes = fixed_classes(targets, result.logits, "FG-CAM with Score-CAM weights")
        weights = scorecam_weights(model, x, a, classes, variant="official", batch_size=batch_size)
    components = a * weights[:, None, None, :]
    return (rules.denoise(components) if denoise else components), result.classes


def fgcam(model: Model, x: jax.Array, targets: Targets, *, layers: tuple[str, ...] = (), target_layer: str,
          base: str, denoise: bool, batch_size: int) -> jax.Array:
    """Registry function: the raw FG-CAM map Σ_k I (B, h, w) at ``target_layer``."""
    plan = plan_for(model)
    if target_layer != INPUT and target_layer not in plan.names:
        raise GigjaxError(f"FG-CAM cannot stop at {target_layer!r} in {model.card.name}: give 'input' or one "
                          f"of the layers below its base {plan.base!r}: {', '.join(plan.names)}")
    r, _ = fgcam_components(model, x, targets, plan, base=base, denoise=denoise, batch_size=batch_size)
    _, calls = record_calls(model, x, tuple(dict.fromkeys(p for s in plan.steps for p in s.records)))
    stop = None if target_layer == INPUT else target_layer
    return jnp.sum(_walk(plan.steps, r, calls, stop), axis=-1)


def _target_layer(value, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise GigjaxError(f"{name} must be 'input' or a layer path, got {value!r}")
    return value


register(Method(
    name="fgcam",
    fn=fgcam,
    summary="FG-CAM: Grad-CAM components redistributed layer by layer down to the input (fine-grained)",
    options={"target_layer": Option(INPUT, "where the relevance walk stops: 'input' or a layer below the plan's "
                                           "base", check=_target_layer),
             "base": BASE, "denoise": DENOISE, "batch_size": CHUNK},
    uses_layers=False,
    requires=("relevance_plan",),
))
