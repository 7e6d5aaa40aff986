"""gigjax/methods/fgcam.py (+ the plans declared in models/): FG-CAM on small VGG- and ResNet-like models.

Every model evaluation is inside one ``jax.jit`` per fixture (eager Flax would compile each primitive
separately, which is slow on CPU); the tests then check the pieces.
"""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax import relevance as R
from gigjax import surgery
from gigjax.methods import fgcam as F
from gigjax.models.vgg import relevance_plan as vgg_relevance_plan
from gigjax.models.relevance_plan import sequential_plan
from gigjax.methods.gradcam import channel_weights, gradcam_term
from gigjax.methods.scorecam import scorecam_weights



@pytest.fixture(scope="module", autouse=True)
def nets(fgcam_nets):
    return fgcam_nets


@pytest.fixture(scope="module")
def toy_vgg(nets):
    return nets["toy_vgg"]


@pytest.fixture(scope="module")
def toy_resnet(nets):
    return nets["toy_resnet"]


def _x(model, batch=2, seed=0):
    size = model.card.input_size[0]
    return jax.random.normal(jax.random.PRNGKey(seed), (batch, size, size, 3))


def _raw(model, x, target_layer="input", targets=None, **options):
    options = {"base": "gradcam", "denoise": False, "batch_size": 32, **options}
    return F.fgcam(model, x, targets, target_layer=target_layer, **options)


def _targets(model):
    return [n for s in F.plan_for(model).steps for n in s.names] + ["input"]


def _gradcam_at_base(model, x, targets=None):
    base = F.plan_for(model).base
    r = gigjax.probe(model, x, targets, (base,), input_gradient=False)
    return r, gradcam_term(r.activations[base], r.gradients[base])


@pytest.fixture(scope="module")
def vgg_run(toy_vgg):
    model = toy_vgg()
    x = _x(model)
    plan = F.plan_for(model)

    def run(model, x):
        r, gradcam = _gradcam_at_base(model, x, 1)
        a = r.activations[plan.base]
        comps, classes = F.fgcam_components(model, x, 1, plan)
        _, acts = surgery.forward(model, x, record=[f"features/{i}" for i in range(8)])
        return dict(
            gradcam=gradcam, a=a, g=r.gradients[plan.base], comps=comps, classes=classes, acts=acts,
            score_comps=F.fgcam_components(model, x, 1, plan, base="scorecam", batch_size=5)[0],
            score_weights=scorecam_weights(model, x, a, classes, variant="official"),
            at_base=_raw(model, x, plan.base, 1), at_2=_raw(model, x, "features/2", 1), at_input=_raw(model, x, "input", 1),
            denoised_base=_raw(model, x, plan.base, 1, denoise=True), denoised_input=_raw(model, x, "input", 1, denoise=True))

    return model, x, jax.jit(run)(model, x)


@pytest.fixture(scope="module")
def resnet_run(toy_resnet):
    model = toy_resnet()
    x = _x(model)
    names = ["layer2/0/bn3", "layer2/0/downsample/1", "layer1", "layer2/0/relu1", "layer2/0/relu2"]

    def run(model, x):
        _, gradcam = _gradcam_at_base(model, x)
        comps, _ = F.fgcam_components(model, x, None, F.plan_for(model))
        return dict(gradcam=gradcam, comps=comps, acts=surgery.forward(model, x, record=names)[1],
                    at_base=_raw(model, x, "layer2"), at_layer1=_raw(model, x, "layer1"))

    return model, x, jax.jit(run)(model, x)


def test_vgg_plan_is_read_off_the_model(toy_vgg, nets):
    assert vgg_relevance_plan(toy_vgg()) == sequential_plan(nets["vgg_kinds"]())


def test_base_layer_gives_the_gradcam_map(vgg_run, resnet_run):
    """FG-CAM stopped at its base layer is Σ_k of the Grad-CAM components: the Grad-CAM map."""
    for _, _, out in (vgg_run, resnet_run):
        np.testing.assert_allclose(out["at_base"], out["gradcam"], rtol=1e-5, atol=1e-6)


def test_components_are_weighted_activations(vgg_run):
    _, _, out = vgg_run
    np.testing.assert_allclose(out["comps"], out["a"] * channel_weights(out["g"])[:, None, None, :], rtol=1e-6)
    np.testing.assert_allclose(out["score_comps"], out["a"] * out["score_weights"][:, None, None, :],
                               rtol=1e-5, atol=1e-7)


def _lax_conv(stride, pad):
    return lambda v, w: jax.lax.conv_general_dilated(v, w, (stride, stride), ((pad, pad), (pad, pad)),
                                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))


def test_vgg_walk_matches_a_hand_written_walk(vgg_run):
    """The plan's walk equals the rules applied by hand with lax convolutions and pools."""
    model, x, out = vgg_run
    params, acts = model.variables["params"]["features"], out["acts"]
    pool = lambda v: jax.lax.reduce_window(v, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    r = R.winner_rule(pool, acts["features/6"], out["comps"])                         # features/7
    r = R.conv_rule(_lax_conv(1, 1), acts["features/4"], params["5"]["kernel"], r)    # features/5
    r = R.conv_rule(_lax_conv(1, 1), acts["features/2"], params["3"]["kernel"], r)    # features/3
    np.testing.assert_allclose(out["at_2"], r.sum(-1), rtol=1e-4, atol=1e-6)
    r = R.winner_rule(pool, acts["features/1"], r)                                    # features/2
    r = R.box_rule(_lax_conv(1, 1), x, params["0"]["kernel"], r)                      # features/0: box rule
    np.testing.assert_allclose(out["at_input"], r.sum(-1), rtol=1e-4, atol=1e-6)


def test_resnet_block_walk_matches_folding_and_split_by_hand(resnet_run):
    """layer2/0 (bottleneck with a strided downsample) by hand: BN folded into each conv, the add
    split by the positive parts of its branches, relevance summed at the block input."""
    model, _, out = resnet_run
    p, stats, acts = model.variables["params"]["layer2"]["0"], model.variables["batch_stats"]["layer2"]["0"], out["acts"]

    def folded(conv, bn, bn_stats):
        return R.fold_batch_norm(conv["kernel"], bn["scale"], bn_stats["var"], 1e-5)

    r_main, r_short = R.split_rule((acts["layer2/0/bn3"], acts["layer2/0/downsample/1"]), out["comps"])
    r_main = R.conv_rule(_lax_conv(1, 0), acts["layer2/0/relu2"], folded(p["conv3"], p["bn3"], stats["bn3"]), r_main)
    r_main = R.conv_rule(_lax_conv(2, 1), acts["layer2/0/relu1"], folded(p["conv2"], p["bn2"], stats["bn2"]), r_main)
    r_main = R.conv_rule(_lax_conv(1, 0), acts["layer1"], folded(p["conv1"], p["bn1"], stats["bn1"]), r_main)
    ds, ds_stats = p["downsample"], stats["downsample"]
    r_short = R.conv_rule(_lax_conv(2, 0), acts["layer1"], folded(ds["0"], ds["1"], ds_stats["1"]), r_short)
    np.testing.assert_allclose(out["at_layer1"], (r_main + r_short).sum(-1), rtol=1e-4, atol=1e-6)


def test_denoise_applies_to_the_base_components(vgg_run):
    _, _, out = vgg_run
    np.testing.assert_allclose(out["denoised_base"], R.denoise(out["comps"]).sum(-1), rtol=1e-4, atol=1e-6)
    assert not np.allclose(out["denoised_input"], out["at_input"], atol=1e-6)


def _conservation(model, targets):
    x = _x(model)

    def run(model, x):
        total = jnp.sum(F.fgcam_components(model, x, None, F.plan_for(model))[0], axis=(1, 2, 3))
        return total, {t: jnp.sum(_raw(model, x, t), axis=(1, 2)) for t in targets}

    total, sums = jax.jit(run)(model, x)
    for target, s in sums.items():
        np.testing.assert_allclose(s, total, rtol=2e-4, err_msg=target)


def test_vgg_rules_conserve_relevance_at_every_layer(toy_vgg):
    """Without biases every VGG rule conserves Σ I exactly (spec §6), at every layer down to the input."""
    model = toy_vgg(use_bias=False)
    _conservation(model, _targets(model))


def test_resnet_rules_conserve_relevance_when_batchnorm_adds_no_shift(toy_resnet):
    """Folded BN without shift, residual splits, the stem pool and box rule: Σ I is conserved."""
    _conservation(toy_resnet(zero_shift=True), ("layer1/0", "maxpool", "input"))


def test_explain_maps(resnet_run):
    """Through explain: the input-resolution map, the target layer's resolution, a blank image."""
    model, x, _ = resnet_run
    x = jnp.concatenate([x, jnp.zeros_like(x[:1])])
    fn = jax.jit(lambda m, x: (gigjax.explainer("fgcam")(m, x), gigjax.explainer("fgcam", raw=True, target_layer="maxpool")(m, x)))
    out, raw = fn(model, x)
    chex.assert_shape(out, (3, 32, 32))
    chex.assert_shape(raw, (3, 8, 8))
    assert bool(jnp.all(jnp.isfinite(out))) and float(out[:2].max()) == pytest.approx(1.0, abs=1e-3)


def test_batch_equals_one_by_one(toy_vgg):
    model = toy_vgg()
    x = _x(model, batch=3)
    fn = gigjax.explainer("fgcam", target_layer="features/2")
    both = jax.jit(lambda m, x, c: (fn(m, x, c), jax.vmap(lambda xi, ci: fn(m, xi[None], ci)[0])(x, c)))
    batched, singles = both(model, x, jnp.array([0, 2, 1]))
    np.testing.assert_allclose(singles, batched, rtol=1e-4, atol=1e-5)


def test_errors(toy_vgg):
    vgg = toy_vgg()
    x = _x(vgg)
    other = dataclasses.replace(vgg, card=dataclasses.replace(vgg.card, name="unplanned", relevance_plan=None))
    with pytest.raises(gigjax.GigjaxError, match="no relevance plan"):
        jax.eval_shape(gigjax.explainer("fgcam"), other, x)
    with pytest.raises(gigjax.GigjaxError, match="cannot stop at 'features/9'"):
        jax.eval_shape(gigjax.explainer("fgcam", target_layer="features/9"), vgg, x)
    with pytest.raises(gigjax.GigjaxError, match="base"):
        gigjax.explainer("fgcam", base="lrp")
    with pytest.raises(gigjax.GigjaxError, match="denoise"):
        gigjax.explainer("fgcam", denoise="yes")
    with pytest.raises(gigjax.GigjaxError, match="layer"):
        gigjax.explainer("fgcam", layer="features/3")


@pytest.mark.slow
def test_lite0_extension_runs(lite0, lite0_batch):
    """gigjax's Lite0 plan (depthwise convs, identity residuals, ReLU6): a finite, non-trivial map."""
    out = jax.jit(gigjax.explainer("fgcam", raw=True, target_layer="blocks_13"))(lite0, lite0_batch[:1])
    chex.assert_shape(out, (1, 7, 7))
    assert bool(jnp.all(jnp.isfinite(out))) and float(jnp.abs(out).sum()) > 0


def test_vgg16_plan_follows_the_torchvision_table(zoo_model):
    from gigjax.models.vgg import FEATURES

    model = zoo_model("vgg16")
    plan = F.plan_for(model)
    assert plan == sequential_plan([spec.kind for spec in FEATURES])
    assert plan.base == "features/30" and isinstance(plan.steps[0], F.Conv) and plan.steps[0].first


def test_resnet50_plan_covers_every_block(zoo_model):
    model = zoo_model("resnet50")
    plan = F.plan_for(model)
    blocks = [s for s in plan.steps if isinstance(s, F.Residual)]
    assert [s.path for s in blocks] == [f"layer{i + 1}/{b}" for i, n in enumerate((3, 4, 6, 3)) for b in range(n)]
    assert [bool(s.shortcut) for s in blocks] == [b == 0 for n in (3, 4, 6, 3) for b in range(n)]
    assert plan.base == "layer4" and {"conv1", "relu", "maxpool", "layer1", "layer4/2"} <= set(plan.names)
    known = gigjax.list_layers(model)
    assert all(p in known for s in plan.steps for p in s.records)


@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
def test_the_walk_traces_on_the_zoo_architectures(zoo_model, name):
    """The whole walk to the input, traced on the real architecture (shapes only: no weights, no compile)."""
    model = zoo_model(name)
    out = jax.eval_shape(gigjax.explainer("fgcam", raw=True), model, jax.ShapeDtypeStruct((2, 224, 224, 3), jnp.float32))
    assert out.shape == (2, 224, 224)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
def test_zoo_architectures_conserve_relevance(zoo_model, name):
    """With random weights (biases and BN shifts included) Σ I reaches the input intact on VGG16 and
    ResNet50: no relevance meets a zero denominator."""
    model = zoo_model(name, numpy_weights=True)
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 64, 64, 3))

    def run(model, x):
        total = jnp.sum(F.fgcam_components(model, x, None, F.plan_for(model))[0])
        return total, jnp.sum(_raw(model, x))

    total, at_input = jax.jit(run)(model, x)
    np.testing.assert_allclose(at_input, total, rtol=1e-3)
