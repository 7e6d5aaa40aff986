"""gigjax/surgery.py: recording, editing and replacing layer outputs of a Flax model."""

import dataclasses
import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax import surgery
from gigjax.models import Model
from gigjax.testing import tiny_cnn


@pytest.fixture(scope="module")
def toy():
    shapes = jax.eval_shape(tiny_cnn)  # no threefry init: numpy values
    rng = np.random.default_rng(0)
    variables = jax.tree_util.tree_map(lambda s: jnp.asarray(0.3 * rng.standard_normal(s.shape), jnp.float32),
                                       shapes.variables)
    return Model(module=shapes.module, variables=variables, card=shapes.card)


@pytest.fixture(scope="module")
def toy_x():
    return jax.random.normal(jax.random.PRNGKey(3), (2, 32, 32, 3))


def _flops(fn, *args):
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    return (cost[0] if isinstance(cost, (list, tuple)) else cost)["flops"]


def test_forward_records_what_the_probe_sees(toy, toy_x):
    logits, acts = surgery.forward(toy, toy_x, record=("conv2", "features"))
    r = gigjax.probe(toy, toy_x, None, ("conv2", "features"))
    np.testing.assert_allclose(logits, toy.logits(toy_x), rtol=1e-6)
    for layer in ("conv2", "features"):
        np.testing.assert_allclose(acts[layer], r.activations[layer], rtol=1e-6)


def test_edit_changes_downstream(toy, toy_x):
    zeroed, acts = surgery.forward(toy, toy_x, record=("features",), edit={"features": jnp.zeros_like})
    np.testing.assert_array_equal(acts["features"], 0.0)
    bias = toy.variables["params"]["fc"]["bias"]
    np.testing.assert_allclose(zeroed, jnp.broadcast_to(bias, zeroed.shape), atol=1e-6)


@pytest.mark.parametrize("layer", ["conv1", "conv2", "features", "features/conv"])
def test_run_from_own_activation_reproduces_logits(toy, toy_x, layer):
    logits, acts = surgery.forward(toy, toy_x, record=(layer,))
    np.testing.assert_allclose(surgery.run_from(toy, layer, acts[layer], toy_x), logits, rtol=1e-5, atol=1e-6)


def test_run_from_ignores_the_input_and_drops_the_earlier_work(toy, toy_x):
    """After the cut, x's values do not matter, and XLA removes the layers before it."""
    logits, acts = surgery.forward(toy, toy_x, record=("conv2",))
    np.testing.assert_allclose(surgery.run_from(toy, "conv2", acts["conv2"], jnp.zeros_like(toy_x)), logits,
                               rtol=1e-5, atol=1e-6)
    full = _flops(lambda x: toy.logits(x), toy_x)
    tail = _flops(lambda a, x: surgery.run_from(toy, "conv2", a, x), acts["conv2"], toy_x)
    assert tail < 0.95 * full


class _Residual(nn.Module):
    @nn.compact
    def __call__(self, x):
        h = nn.Conv(4, (3, 3), name="inner")(x)
        h = nn.Conv(4, (1, 1), name="cut")(jax.nn.relu(h))
        return nn.Dense(3, name="fc")(jnp.mean(x[..., :4] + h, axis=(1, 2)))


def test_run_from_keeps_skip_connections():
    """A skip connection over the layer still reads the real pre-layer values."""
    module = _Residual()
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 5))
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(1), x)
    rng = np.random.default_rng(0)
    variables = jax.tree_util.tree_map(lambda s: jnp.asarray(rng.standard_normal(s.shape), jnp.float32), shapes)
    card = dataclasses.replace(jax.eval_shape(tiny_cnn).card, mean=(0.5,) * 5, std=(0.25,) * 5)  # 5 channels
    model = Model(module=module, variables=variables, card=card)

    @jax.jit
    def run(model, x):
        logits, acts = surgery.forward(model, x, record=("cut",))
        return (logits, surgery.run_from(model, "cut", acts["cut"], x),
                surgery.run_from(model, "cut", acts["cut"], jnp.zeros_like(x)))

    logits, same, other = run(model, x)
    np.testing.assert_allclose(same, logits, rtol=1e-5, atol=1e-6)
    assert not np.allclose(other, logits, atol=1e-3)


def test_run_from_vmaps_over_substitutes(toy, toy_x):
    logits, acts = surgery.forward(toy, toy_x, record=("features",))
    stack = jnp.stack([acts["features"], 2 * acts["features"]])
    out = jax.vmap(lambda a: surgery.run_from(toy, "features", a, toy_x))(stack)
    chex.assert_shape(out, (2, *logits.shape))
    np.testing.assert_allclose(out[0], logits, rtol=1e-5, atol=1e-6)


def test_record_calls_reapplies_the_module(toy, toy_x):
    _, calls = surgery.record_calls(toy, toy_x, ("conv2", "features/conv"))
    for call in calls.values():
        np.testing.assert_allclose(call.apply(call.input), call.output, rtol=1e-6)
    call = calls["conv2"]
    params = {**call.variables["params"], "bias": jnp.zeros_like(call.variables["params"]["bias"])}
    no_bias = call.apply(call.input, {"params": params})
    np.testing.assert_allclose(no_bias + call.variables["params"]["bias"], call.output, rtol=1e-5, atol=1e-6)


def test_errors(toy, toy_x):
    with pytest.raises(gigjax.GigjaxError, match="never ran"):
        surgery.forward(toy, toy_x, record=("nope",))
    with pytest.raises(gigjax.GigjaxError, match="shape"):
        surgery.run_from(toy, "features", jnp.zeros((2, 3, 3, 16)), toy_x)


def test_shape_traces_are_memoised_per_model_structure(toy, toy_x, monkeypatch):
    """One shape-only trace answers every later question of the same structure, with or without jit,
    whatever the values; other variable shapes, another input type or another question trace anew."""
    monkeypatch.setattr(surgery, "_ABSTRACT", {})
    traces = []
    kind = surgery.kind_of(toy.module)  # the model kind's module (gigjax.model_kinds.linen)
    original = kind.intercept
    monkeypatch.setattr(kind, "intercept", lambda *a, **k: traces.append(1) or original(*a, **k))
    first = surgery.layer_outputs(toy, toy_x)
    assert len(traces) == 1
    other_values = dataclasses.replace(toy, variables=jax.tree_util.tree_map(lambda v: v + 1, toy.variables))
    assert surgery.layer_outputs(other_values, toy_x) == first
    jax.jit(lambda m, v: jnp.zeros(()) if surgery.layer_outputs(m, v) else None)(toy, toy_x)  # tracers
    assert len(traces) == 1
    surgery.layer_outputs(toy, toy_x[:1])  # another batch size
    surgery.layer_outputs(toy, jax.ShapeDtypeStruct((2, 40, 40, 3), jnp.float32))  # another image size
    gigjax.probe(toy, toy_x, None, ("conv2",))  # another question: the probe's activation shapes (+ its pass)
    assert len(traces) == 1 + 2 + 2
    gigjax.probe(toy, toy_x, None, ("conv2",))  # its shapes memoised: only the pass itself is traced
    assert len(traces) == 6


def test_an_unhashable_structure_is_traced_every_time():
    class Unhashable:  # a leaf that is no array and has no hash
        __hash__ = None

    calls = []
    for _ in range(2):
        assert surgery.abstract("q", lambda: calls.append(1) or "answer", (Unhashable(),), jnp.zeros(2)) == "answer"
    assert len(calls) == 2
    for answer in ("answer", "other"):  # a hashable one: memoised
        assert surgery.abstract("q", lambda a=answer: calls.append(1) or a, (), jnp.zeros(2)) == "answer"
    assert len(calls) == 3
