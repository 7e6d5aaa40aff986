"""Every registered method through ``gigjax.explain``: the shared post-processing options,
multi-layer fusion, jit = eager, batch = one by one, blank images, and errors (spec §1).

The methods come from the registry, so a new method is covered without editing this file. They run
on the tiny GAP+FC CNN (fast to compile) with each option's declared ``quick`` value; what a method
``requires`` of a model is met here (:data:`MET`: the toy has a GAP+FC head, and its card carries
FG-CAM's relevance plan), and a requirement not met here fails :func:`test_every_requirement_is_met`.
A method whose default is a pyramid (GIG-CAM(F)) runs on one scale, the identity (the pyramid is
tested in tests/test_fusion.py).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax import postprocess

MET = {"gap_fc_head": "the toy's classifier 'fc' after global average pooling",
       "relevance_plan": "the relevance plan on the tiny_cnn card (gigjax.testing)"}
METHODS = list(gigjax.available_methods())
SPECS = {name: gigjax.get_method(name) for name in METHODS}
# methods defined at any layer (a GAP-head method is defined only at the pooled feature map)
LAYER_METHODS = [m for m, s in SPECS.items() if s.uses_layers and "gap_fc_head" not in s.requires]
SMALL = {m: {**{k: o.quick for k, o in s.options.items() if o.quick is not None},
             **({"scales": (1,)} if "scales" in s.options else {})} for m, s in SPECS.items()}


def test_every_requirement_is_met():
    for method, spec in SPECS.items():
        assert set(spec.requires) <= set(MET), f"{method} requires {spec.requires}: meet it in this file"


@pytest.fixture(scope="module", params=METHODS)
def run(request, toy, toy_x):
    """All the variants of one method, computed in one jit."""
    method = request.param
    opts = SMALL.get(method, {})
    targets = jnp.array([1, 0, 3])
    x = toy_x.at[2].set(0.0)  # the third image is blank

    def fn(model, x, targets):
        out = {
            "default": gigjax.explainer(method, **opts)(model, x, targets),
            "raw": gigjax.explainer(method, raw=True, **opts)(model, x, targets),
            "plain": gigjax.explainer(method, relu=False, normalize=False, **opts)(model, x, targets),
            "relu_only": gigjax.explainer(method, normalize=False, **opts)(model, x, targets),
            "sized": gigjax.explainer(method, output_size=(8, 12), **opts)(model, x, targets),
            "singles": jax.vmap(lambda xi, ti: gigjax.explainer(method, **opts)(model, xi[None], ti)[0])(x, targets),
        }
        if method in LAYER_METHODS:
            for fuse in ("mean", "max"):
                out[fuse] = gigjax.explainer(method, layer=["conv2", "features"], fuse=fuse, **opts)(model, x, targets)
            out["raw_conv2"] = gigjax.explainer(method, layer="conv2", raw=True, **opts)(model, x, targets)
        return out

    return method, x, targets, jax.jit(fn)(toy, x, targets)


def test_default_maps_are_normalised_and_finite(run):
    _, x, _, out = run
    m = out["default"]
    assert m.shape == (3, 32, 32) and isinstance(m, jax.Array)
    assert bool(jnp.all(jnp.isfinite(m))) and float(m.min()) >= 0.0 and float(m.max()) <= 1.0
    assert float(m[:2].max(axis=(1, 2)).min()) > 0.5  # 1 before the bilinear resize, which may miss the peak
    np.testing.assert_allclose(postprocess.finish(out["raw"][:2], None).max(axis=(1, 2)), 1.0, atol=1e-3)


def test_blank_images_give_finite_maps(run):
    method, _, _, out = run
    for key in out:
        assert bool(jnp.all(jnp.isfinite(out[key][2]))), (method, key)


def test_postprocessing_options(run):
    _, _, _, out = run
    raw = out["raw"]
    np.testing.assert_allclose(out["plain"], postprocess.upsample(raw, (32, 32)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["relu_only"], postprocess.upsample(jax.nn.relu(raw), (32, 32)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["default"], postprocess.finish(raw, (32, 32)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["sized"], postprocess.finish(raw, (8, 12)), rtol=1e-5, atol=1e-6)


def test_batch_equals_one_by_one(run):
    _, _, _, out = run
    np.testing.assert_allclose(out["singles"], out["default"], rtol=1e-4, atol=1e-5)


def test_multi_layer_fusion(run, toy):
    method, x, _, out = run
    if method not in LAYER_METHODS:  # defined at one place: asking for several layers is a clear error
        with pytest.raises(gigjax.GigjaxError, match="not at 'conv2'|not on a layer"):
            gigjax.explain(toy, x, method, layer=["conv2", "features"])
        return
    for fuse in ("mean", "max"):
        expected = postprocess.fuse_layers([out["raw_conv2"], out["raw"]], fuse, size=(32, 32))
        np.testing.assert_allclose(out[fuse], expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_jit_equals_eager(toy, toy_x, method):
    fn = gigjax.explainer(method, **SMALL.get(method, {}))
    x = toy_x[:2]
    np.testing.assert_allclose(fn(toy, x, 2), jax.jit(fn)(toy, x, 2), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", [m for m in METHODS if SPECS[m].uses_layers])
def test_unknown_layer_is_a_clear_error(toy, toy_x, method):
    with pytest.raises(gigjax.GigjaxError, match="unknown layer 'featurs'.*did you mean features"):
        gigjax.explain(toy, toy_x, method, layer="featurs")


@pytest.mark.parametrize("method", METHODS)
def test_unknown_option_is_a_clear_error(method):
    with pytest.raises(gigjax.GigjaxError, match="has no option"):
        gigjax.explainer(method, stepz=3)


def test_raw_needs_one_layer(toy, toy_x):
    with pytest.raises(gigjax.GigjaxError, match="one layer"):
        gigjax.explain(toy, toy_x, "layercam", layer=["conv2", "features"], raw=True)


@pytest.mark.parametrize("arch", ["vgg16", "resnet50"])
def test_every_method_traces_on_the_zoo_architectures(zoo_model, arch):
    """Each kind of method on the real VGG16 / ResNet50 (shapes only: no weights drawn, nothing
    compiled): a gradient term, CAM (not on VGG16's head), the two perturbation methods; FG-CAM is
    traced in test_fgcam.py."""
    model = zoo_model(arch)
    x = jax.ShapeDtypeStruct((1, 224, 224, 3), jnp.float32)
    for method in ("layercam", "cam", "scorecam", "ablationcam"):
        if method == "cam" and arch == "vgg16":
            with pytest.raises(gigjax.GigjaxError, match="global-average-pooling"):
                jax.eval_shape(gigjax.explainer(method), model, x)
            continue
        assert jax.eval_shape(gigjax.explainer(method, **SMALL.get(method, {})), model, x).shape == (1, 224, 224), method


@pytest.mark.parametrize("method", METHODS)
def test_class_index_is_declared_by_exactly_the_methods_that_refuse_scores(method, toy, toy_x):
    """``Method.class_index`` (which ``gigjax evaluate`` reads to refuse a log-sum-exp class map up
    front) is True exactly for the methods that refuse a score callable as targets (traced only)."""
    explain = gigjax.explainer(method, **SMALL.get(method, {}))
    score = lambda logits: jax.nn.logsumexp(logits[:, :2], axis=-1)  # noqa: E731 - a class-set score
    try:
        jax.eval_shape(lambda m, x: explain(m, x, score), toy, toy_x)
        refused = False
    except gigjax.GigjaxError as exc:
        assert "class indices" in str(exc)
        refused = True
    assert SPECS[method].class_index == refused
