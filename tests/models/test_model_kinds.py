"""gigjax/model_kinds and models/constructors.py: a user's own linen, NNX, plain-function and ViT models.

The same tiny CNN is built three ways (linen, NNX, a features/head function pair) with the same weights,
so every kind must give the same maps as the linen one; a tiny ViT is checked against a Grad-CAM computed
by hand in numpy on its reshaped tokens.
"""

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import gigjax
from gigjax import surgery

SIZE = 16


class LinenBlock(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.relu(nn.Conv(8, (3, 3), name="conv")(x))


class LinenCNN(nn.Module):
    def setup(self):
        self.block1, self.block2 = LinenBlock(), LinenBlock()
        self.fc = nn.Dense(5)

    def features(self, x):
        return self.block2(self.block1(x))

    def head(self, a):
        return self.fc(jnp.mean(a, axis=(1, 2)))

    def __call__(self, x):
        return self.head(self.features(x))


class NnxBlock(nnx.Module):
    def __init__(self, cin, rngs):
        self.conv = nnx.Conv(cin, 8, (3, 3), rngs=rngs)

    def __call__(self, x):
        return nnx.relu(self.conv(x))


class NnxCNN(nnx.Module):
    def __init__(self, rngs):
        self.blocks = nnx.List([NnxBlock(3, rngs), NnxBlock(8, rngs)])
        self.fc = nnx.Linear(8, 5, rngs=rngs)

    def __call__(self, x):
        for block in self.blocks:
            x = block(x)
        return self.fc(jnp.mean(x, axis=(1, 2)))


class Block(nn.Module):
    """A pre-norm transformer block in torchvision's naming (ln_1, self_attention, ln_2, mlp)."""

    @nn.compact
    def __call__(self, x):
        h = nn.LayerNorm(name="ln_1")(x)
        x = x + nn.MultiHeadDotProductAttention(num_heads=2, name="self_attention")(h, h)
        h = nn.LayerNorm(name="ln_2")(x)
        return x + nn.Dense(8, name="mlp_out")(nn.gelu(nn.Dense(16, name="mlp_in")(h)))


class TinyViT(nn.Module):
    """16×16 input, 4×4 patches → 16 patch tokens + a class token, two blocks, head on the class token."""

    @nn.compact
    def __call__(self, x):
        x = nn.Conv(8, (4, 4), strides=(4, 4), name="conv_proj")(x)
        b, h, w, d = x.shape
        cls = self.param("class_token", nn.initializers.normal(1.0), (1, 1, d))
        x = jnp.concatenate([jnp.broadcast_to(cls, (b, 1, d)), x.reshape(b, h * w, d)], axis=1)
        x = x + self.param("pos_embedding", nn.initializers.normal(0.5), (1, h * w + 1, d))
        for i in range(2):
            x = Block(name=f"encoder_layer_{i}")(x)
        return nn.Dense(4, name="head")(nn.LayerNorm(name="ln")(x)[:, 0])


class PairBlock(nn.Module):
    """A block returning a tuple (its activation, its pre-activation)."""

    @nn.compact
    def __call__(self, x):
        z = nn.Conv(8, (3, 3), name="conv")(x)
        return nn.relu(z), z


class TupleCNN(nn.Module):
    @nn.compact
    def __call__(self, x):
        a, _ = PairBlock(name="pair")(x)
        return nn.Dense(3, name="fc")(jnp.mean(a, axis=(1, 2)))


def init(module: nn.Module, seed: int, x: jax.Array):
    """The module's variables, initialised in one compiled call (op by op is slower to start)."""
    return jax.jit(module.init)(jax.random.PRNGKey(seed), x)


@pytest.fixture(scope="module")
def x():
    return jax.random.normal(jax.random.PRNGKey(0), (2, SIZE, SIZE, 3))


@pytest.fixture(scope="module")
def linen_parts(x):
    module = LinenCNN()
    return module, init(module, 1, x)


@pytest.fixture(scope="module")
def linen_model(linen_parts):
    return gigjax.Model.from_linen(*linen_parts, input_size=(SIZE, SIZE))


def nnx_copy(variables) -> NnxCNN:
    """The NNX CNN carrying the linen CNN's weights."""
    module, p = NnxCNN(nnx.Rngs(0)), variables["params"]
    for i, name in enumerate(("block1", "block2")):
        module.blocks[i].conv.kernel[...] = p[name]["conv"]["kernel"]
        module.blocks[i].conv.bias[...] = p[name]["conv"]["bias"]
    module.fc.kernel[...], module.fc.bias[...] = p["fc"]["kernel"], p["fc"]["bias"]
    return module


@pytest.fixture(scope="module")
def nnx_model(linen_parts):
    return gigjax.Model.from_nnx(nnx_copy(linen_parts[1]), input_size=(SIZE, SIZE))


@pytest.fixture(scope="module")
def vit(x):
    module = TinyViT()
    variables = init(module, 2, x)
    return gigjax.Model.from_linen(module, variables, input_size=(SIZE, SIZE), reshape=gigjax.tokens_to_grid(skip=1))


def test_from_linen_infers_the_card(linen_model):
    card = linen_model.card
    assert card.num_classes == 5 and card.class_names[0] == "0"
    assert card.layers == ("block1/conv", "block1", "block2/conv", "block2", "fc")
    assert card.cam_layer == "block2"  # the last 4-D feature map
    assert card.classifier == "fc"  # GAP + Dense detected, so CAM applies
    assert card.input_size == (SIZE, SIZE) and card.mean == (0.0,) * 3 and card.resize_short == SIZE


def test_a_card_needs_only_name_and_input_size():
    card = gigjax.ModelCard(name="mine", input_size=(32, 32))
    assert card.cam_layer is None and card.class_names == () and card.channels == 3


def test_nnx_card_uses_submodule_paths(nnx_model):
    assert nnx_model.card.layers == ("blocks/0/conv", "blocks/0", "blocks/1/conv", "blocks/1", "fc")
    assert nnx_model.card.cam_layer == "blocks/1" and nnx_model.card.classifier == "fc"


@pytest.mark.parametrize("method, options", [("gradcam", {}), ("layercam", {}), ("gigcam", {"steps": 6})])
def test_nnx_maps_equal_linen_maps(linen_model, nnx_model, x, method, options):
    want = gigjax.explain(linen_model, x, method, raw=True, **options)
    got = gigjax.explain(nnx_model, x, method, raw=True, **options)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_nnx_probe_gives_activations_and_gradients_of_one_pass(linen_model, nnx_model, x):
    want = gigjax.probe(linen_model, x, 2, ("block1", "block2"))
    got = gigjax.probe(nnx_model, x, 2, ("blocks/0", "blocks/1"))
    for a, b in (("block1", "blocks/0"), ("block2", "blocks/1")):
        np.testing.assert_allclose(got.activations[b], want.activations[a], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.gradients[b], want.gradients[a], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(got.input_gradient, want.input_gradient, rtol=1e-4, atol=1e-7)


def test_nnx_model_is_a_jit_argument_without_retracing_for_new_weights(linen_parts, nnx_model, x):
    traces = []

    @jax.jit
    def grads(model, x):
        traces.append(1)
        return gigjax.probe(model, x, 0, ("blocks/1",), input_gradient=False).gradients["blocks/1"]

    first = grads(nnx_model, x)
    doubled = nnx_model.replace(variables=jax.tree_util.tree_map(lambda v: 2 * v, nnx_model.variables))
    rebuilt = gigjax.Model.from_nnx(nnx_copy(jax.tree_util.tree_map(lambda v: -v, linen_parts[1])),
                                    input_size=(SIZE, SIZE))
    assert not np.allclose(grads(doubled, x), first)
    grads(rebuilt, x)
    assert len(traces) == 1


def test_from_nnx_leaves_the_users_module_alone(linen_parts):
    module = NnxCNN(nnx.Rngs(0))
    before = jax.tree_util.tree_leaves(nnx.state(module))
    gigjax.Model.from_nnx(module, input_size=(SIZE, SIZE))
    assert all(a is b for a, b in zip(before, jax.tree_util.tree_leaves(nnx.state(module))))
    assert NnxBlock.__call__.__name__ == "__call__" and "__call__" in NnxBlock.__dict__  # hooks removed


@pytest.fixture(scope="module")
def function_model(linen_parts):
    module, variables = linen_parts
    return gigjax.Model.from_function(
        module.apply, variables, input_size=(SIZE, SIZE),
        features=functools.partial(module.apply, method=LinenCNN.features),
        head=lambda params, a: module.apply(params, a, method=LinenCNN.head))


def test_function_model_equals_the_linen_model_it_was_split_from(linen_model, function_model, x):
    assert function_model.card.layers == ("features",) and function_model.card.cam_layer == "features"
    np.testing.assert_allclose(function_model.logits(x), linen_model.logits(x), rtol=1e-6)
    for method, options in (("gradcam", {}), ("gigcam", {"steps": 6})):
        np.testing.assert_allclose(gigjax.explain(function_model, x, method, raw=True, **options),
                                   gigjax.explain(linen_model, x, method, layer="block2", raw=True, **options),
                                   rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gigjax.explain(function_model, x, "integrated_gradients", steps=8),
                               gigjax.explain(linen_model, x, "integrated_gradients", steps=8), atol=1e-5)


def test_function_model_without_a_split_runs_input_methods(linen_parts, x):
    module, variables = linen_parts
    model = gigjax.Model.from_function(module.apply, variables, input_size=(SIZE, SIZE))
    assert model.card.layers == () and model.card.cam_layer is None
    assert gigjax.explain(model, x, "integrated_gradients", steps=4).shape == (2, SIZE, SIZE)
    with pytest.raises(gigjax.GigjaxError, match="names no CAM layer"):
        gigjax.explain(model, x, "gradcam")


def test_vit_card_defaults_to_the_last_block_ln_1(vit):
    assert vit.card.cam_layer == "encoder_layer_1/ln_1"
    assert vit.card.reshape_for("encoder_layer_1/ln_1") == gigjax.tokens_to_grid(skip=1)
    assert gigjax.list_layers(vit)["encoder_layer_1/ln_1"] == (1, 4, 4, 8)
    assert vit.card.classifier is None  # the head reads the class token, not a pooled map


def test_vit_gradcam_equals_numpy_gradcam_on_the_reshaped_tokens(vit, x):
    layer, plain = vit.card.cam_layer, vit.replace(card=gigjax.ModelCard(name="plain", input_size=(SIZE, SIZE)))
    _, acts = surgery.forward(plain, x, record=(layer,))
    tokens = acts[layer]  # (B, 17, 8): no reshape on this card
    classes = jnp.argmax(vit.logits(x), axis=-1)
    score = lambda t: jnp.sum(jnp.take_along_axis(surgery.run_from(plain, layer, t, x), classes[:, None], 1))
    a, g = np.asarray(tokens)[:, 1:].reshape(2, 4, 4, 8), np.asarray(jax.grad(score)(tokens))[:, 1:].reshape(2, 4, 4, 8)
    want = np.einsum("bhwk,bk->bhw", a, g.mean(axis=(1, 2)))
    np.testing.assert_allclose(gigjax.explain(vit, x, "gradcam", raw=True), want, rtol=1e-4, atol=1e-6)


def test_reshape_option_equals_the_card_reshape(vit, x):
    bare = vit.replace(card=gigjax.ModelCard(name="bare", input_size=(SIZE, SIZE)))
    np.testing.assert_allclose(
        gigjax.explain(bare, x, "gradcam", layer="encoder_layer_1/ln_1", reshape=gigjax.tokens_to_grid(), raw=True),
        gigjax.explain(vit, x, "gradcam", raw=True), rtol=1e-6)


@pytest.mark.parametrize("method", ["scorecam", "ablationcam", "gradcam_pp", "gigcam"])
def test_token_layers_serve_forward_and_path_methods(vit, x, method):
    options = {"steps": 4} if method == "gigcam" else {}
    maps = gigjax.explain(vit, x, method, **options)
    assert maps.shape == (2, SIZE, SIZE) and maps.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(maps)))


def test_ablation_on_tokens_keeps_the_class_token(vit, x):
    layer = vit.card.cam_layer
    logits, acts = surgery.forward(vit, x, record=(layer,))
    np.testing.assert_allclose(surgery.run_from(vit, layer, acts[layer], x), logits, rtol=1e-5, atol=1e-6)


def test_tuple_outputs_are_selected_by_element(x):
    module, variables = TupleCNN(), init(TupleCNN(), 3, x)
    model = gigjax.Model.from_linen(module, variables, input_size=(SIZE, SIZE))
    assert {"pair:0", "pair:1"} <= set(gigjax.list_layers(model))
    assert model.card.cam_layer == "pair:1" and model.card.classifier is None  # the GAP reads pair:0, not pair:1
    _, acts = surgery.forward(model, x, record=("pair:0", "pair:1"))
    np.testing.assert_allclose(acts["pair:0"], jax.nn.relu(acts["pair:1"]), rtol=1e-6)
    model = gigjax.Model.from_linen(module, variables, input_size=(SIZE, SIZE), cam_layer="pair:0")
    assert model.card.classifier == "fc"
    # at a GAP + Dense head Grad-CAM's weights are W_c / (h·w): Grad-CAM = CAM / (h·w)
    np.testing.assert_allclose(gigjax.explain(model, x, "gradcam", layer="pair:0", raw=True),
                               gigjax.explain(model, x, "cam", raw=True) / SIZE ** 2, rtol=1e-4, atol=1e-7)
    with pytest.raises(gigjax.GigjaxError, match="select an element, e.g. pair:0"):
        surgery.forward(model, x, record=("pair",))


def test_probe_under_jit_with_static_layer_names(nnx_model, x):
    eager = gigjax.probe(nnx_model, x, 3, ["blocks/1"])
    by_tuple = jax.jit(gigjax.probe, static_argnames="layers")(nnx_model, x, 3, layers=("blocks/1",))
    by_list = jax.jit(functools.partial(gigjax.probe, layers=["blocks/1"]))(nnx_model, x, 3)
    for result in (by_tuple, by_list):
        np.testing.assert_allclose(result.gradients["blocks/1"], eager.gradients["blocks/1"], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("dtype, methods", [(jnp.bfloat16, ("gradcam", "gigcam")), (jnp.float16, ("gradcam",))])
def test_low_precision_maps_agree_with_float32(linen_model, x, dtype, methods):
    low = linen_model.replace(variables=jax.tree_util.tree_map(lambda v: v.astype(dtype), linen_model.variables))
    for method in methods:
        options = {"steps": 6} if method == "gigcam" else {}
        got = gigjax.explain(low, x.astype(dtype), method, **options)
        want = gigjax.explain(linen_model, x, method, **options)
        assert got.dtype == jnp.float32  # maps in [0, 1]: bf16 keeps ~3 significant digits
        assert float(jnp.mean(jnp.abs(got - want))) < 0.01 and float(jnp.max(jnp.abs(got - want))) < 0.05


def test_guided_ig_path_is_float32_for_bf16_input(linen_model, x):
    low = linen_model.replace(variables=jax.tree_util.tree_map(lambda v: v.astype(jnp.bfloat16), linen_model.variables))
    attributions = jax.jit(functools.partial(gigjax.guided_ig_attributions, steps=4))(low, x.astype(jnp.bfloat16))
    assert attributions.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(attributions)))


@dataclasses.dataclass
class Unhashable:
    """A callable with value equality and so no hash: cannot sit on a static card."""

    def __call__(self, tokens):
        return tokens


class SegNet(nn.Module):
    """(B, H, W, 3) → (B, H, W, 3) per-pixel class logits: not a classifier."""

    @nn.compact
    def __call__(self, x):
        return nn.Conv(3, (1, 1), name="classes")(LinenBlock(name="block")(x))


class Detector(nn.Module):
    """(B, H, W, 3) → {"scores": (B, 4), "boxes": (B, 4, 4)}."""

    @nn.compact
    def __call__(self, x):
        a = LinenBlock(name="block")(x)
        pooled = jnp.mean(a, axis=(1, 2))
        return {"scores": nn.Dense(4, name="scores")(pooled), "boxes": nn.Dense(16, name="boxes")(pooled).reshape(-1, 4, 4)}


def test_segmentation_output_is_explained_for_a_region(x):
    module = SegNet()
    model = gigjax.Model.from_linen(module, init(module, 4, x), input_size=(SIZE, SIZE))
    assert model.card.class_names == () and model.card.cam_layer == "classes"
    mask = jnp.zeros((SIZE, SIZE)).at[4:8, 4:8].set(1.0)
    maps = gigjax.explain(model, x, "gradcam", layer="block", targets=gigjax.targets.region(mask, 1), raw=True)
    a = surgery.forward(model, x, record=("block",))[1]["block"]
    w = model.variables["params"]["classes"]["kernel"][0, 0, :, 1]  # (K,)
    # S = Σ_mask (A · w + b) ⇒ ∂S/∂A = mask ⊗ w, so Grad-CAM weights are w · mean(mask)
    np.testing.assert_allclose(maps, jnp.einsum("bhwk,k->bhw", a, w) * float(mask.mean()), rtol=1e-4, atol=1e-6)
    for targets in (None, 1):
        with pytest.raises(gigjax.GigjaxError, match="not.*logits|needs \\(B, classes\\) logits"):
            gigjax.explain(model, x, "gradcam", targets=targets)


def test_detection_dict_is_explained_for_a_box_score(x):
    module = Detector()
    model = gigjax.Model.from_linen(module, init(module, 5, x), input_size=(SIZE, SIZE))
    maps = gigjax.explain(model, x, "gradcam", targets=gigjax.targets.box_score(2))
    assert maps.shape == (2, SIZE, SIZE)
    with pytest.raises(gigjax.GigjaxError, match="no 'logits' entry"):
        gigjax.explain(model, x, "gradcam", targets=gigjax.targets.box_score(0, key="logits"))


def test_ready_made_class_target_equals_an_int_target(linen_model, x):
    np.testing.assert_allclose(gigjax.explain(linen_model, x, targets=gigjax.targets.classes(3)),
                               gigjax.explain(linen_model, x, targets=3))


def test_bad_models_say_how_to_wrap_them(linen_parts, vit, x):
    module = NnxCNN(nnx.Rngs(0))
    with pytest.raises(gigjax.GigjaxError, match=r"NNX module NnxCNN: wrap it with gigjax.Model.from_nnx\(module\)"):
        gigjax.explain(module, x)
    with pytest.raises(gigjax.GigjaxError, match="from_linen / from_nnx / from_function"):
        gigjax.explain(gigjax.Model(module=module, variables={}, card=gigjax.ModelCard("m", (SIZE, SIZE))), x)
    with pytest.raises(gigjax.GigjaxError, match="Model.from_nnx"):
        gigjax.Model.from_linen(module, {})
    with pytest.raises(gigjax.GigjaxError, match="from_linen"):
        gigjax.Model.from_nnx(*linen_parts[:1])
    with pytest.raises(gigjax.GigjaxError, match="linen module.*from_linen"):
        gigjax.probe(linen_parts[0], x, 0, ("block1",))
    with pytest.raises(gigjax.GigjaxError, match="num_classes=7, but the model outputs 5 logits"):
        gigjax.Model.from_linen(*linen_parts, input_size=(SIZE, SIZE), num_classes=7)
    with pytest.raises(gigjax.GigjaxError, match="give input_size"):
        gigjax.Model.from_linen(vit.module, vit.variables)  # at the default 224² the tokens do not fit
    with pytest.raises(gigjax.GigjaxError, match="features= and head="):
        gigjax.Model.from_function(linen_parts[0].apply, linen_parts[1], features=lambda p, v: v)


def test_bad_inputs_are_clear_errors(linen_model, nnx_model, vit, x):
    with pytest.raises(gigjax.GigjaxError, match="takes 3-channel input, x has 4 channels"):
        gigjax.explain(linen_model, jnp.concatenate([x, x[..., :1]], axis=-1))
    with pytest.raises(gigjax.GigjaxError, match="not a square grid"):
        gigjax.explain(vit, x, layer="encoder_layer_1/ln_1", reshape=gigjax.tokens_to_grid(skip=2))
    with pytest.raises(gigjax.GigjaxError, match="not grid 3×5"):
        gigjax.explain(vit, x, reshape=gigjax.tokens_to_grid(grid=(3, 5)))
    with pytest.raises(gigjax.GigjaxError, match="hashable"):
        gigjax.explain(vit, x, reshape=Unhashable())
    with pytest.raises(gigjax.GigjaxError, match="skip must be a non-negative int"):
        gigjax.tokens_to_grid(skip=-1)
    with pytest.raises(gigjax.GigjaxError, match="not a \\(B, h, w, K\\) feature map"):
        gigjax.explain(linen_model, x, layer="fc")
    with pytest.raises(gigjax.GigjaxError, match="a nnx model has none"):
        surgery.record_calls(nnx_model, x, ("blocks/1",))
    with pytest.raises(gigjax.GigjaxError, match="reshaped output"):
        surgery.record_calls(vit, x, ("encoder_layer_1/ln_1",))
