"""ViT (models/vit.py): torchvision parity on seeded random weights, importer, layout, names, card.

The goldens come from torchvision's ``VisionTransformer`` filled with seeded numpy arrays
(tests/golden/make_vit_golden.py). A tiny ViT (4×4 patches of 8 px, 2 blocks, width 16) is checked
through the real torchvision checkpoints the script saved (zip and legacy ``.pth``); ViT-B/16's 330 MB
of weights are regenerated here without torch, written as ``.safetensors`` and loaded with
``load_model`` — the full import path a user takes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.models import architectures, convert, vit, zoo
from gigjax.models.torch_checkpoint import load_state_dict

from golden_files import GOLDEN, load_golden


@pytest.fixture(scope="module")
def vit_golden() -> dict[str, np.ndarray]:
    return load_golden("vit_random.npz")


@pytest.fixture(scope="module")
def tiny_config(numpy_weights) -> vit.ViTConfig:
    return vit.ViTConfig(**numpy_weights.VIT_TINY)


def tiny_model(config: vit.ViTConfig, num_classes: int, path) -> gigjax.Model:
    """The tiny ViT with the weights of a torchvision checkpoint, read by the zoo's importer."""
    module = vit.VisionTransformer(config, num_classes=num_classes)
    size = config.image_size
    expected = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros((1, size, size, 3)))
    variables = convert.torch_to_flax(load_state_dict(path), vit.torch_name_map, expected, "vit_tiny", str(path))
    return gigjax.Model(module=module, variables=jax.tree_util.tree_map(jnp.asarray, variables),
                        card=architectures.vit_card(config, num_classes, name="vit_tiny"))


@pytest.fixture(scope="module")
def tiny(tiny_config, vit_golden) -> gigjax.Model:
    return tiny_model(tiny_config, int(vit_golden["tiny_classes"]), GOLDEN / "checkpoints" / "vit_tiny.pth")


@pytest.fixture(scope="module")
def tiny_input(numpy_weights, vit_golden, tiny_config) -> np.ndarray:
    """The tiny golden input, NHWC (2, 32, 32, 3)."""
    return numpy_weights.input_batch(int(vit_golden["input_seed"]), size=tiny_config.image_size).transpose(0, 2, 3, 1)


def assert_close_relative(got, want, rel: float = 1e-4) -> None:
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=rel * np.abs(want).max())


@pytest.mark.parametrize("checkpoint", ["vit_tiny.pth", "vit_tiny_legacy.pth"])
def test_tiny_logits_match_torchvision(checkpoint, tiny_config, vit_golden, tiny_input):
    model = tiny_model(tiny_config, int(vit_golden["tiny_classes"]), GOLDEN / "checkpoints" / checkpoint)
    logits = jax.jit(lambda m, x: m.logits(x))(model, jnp.asarray(tiny_input))
    want = vit_golden["tiny_logits"]
    assert logits.shape == want.shape == (2, 5)
    assert_close_relative(logits, want)
    assert not np.allclose(want[0], want[1], atol=1e-2)


def test_tiny_tokens_match_torchvision(tiny, tiny_config, vit_golden, tiny_input):
    """The default CAM layer's tokens: class token first, then the patches row by row, as in torch;
    the probe sees them through the card's reshape as the 4×4 patch grid."""
    layer = vit.cam_layer(tiny_config)
    x = jnp.asarray(tiny_input)
    _, state = tiny.module.apply(tiny.variables, x, capture_intermediates=True)
    tokens = state["intermediates"]["encoder"]["layers"]["encoder_layer_1"]["ln_1"]["__call__"][0]
    want = vit_golden["tiny_ln_1"]
    assert tokens.shape == want.shape == (2, 1 + 4 * 4, 16)
    assert_close_relative(tokens, want)
    result = gigjax.probe(tiny, x, None, [layer], input_gradient=False)
    assert_close_relative(result.activations[layer], want[:, 1:].reshape(2, 4, 4, 16))


def test_committed_checkpoint_holds_the_generator_weights(numpy_weights, vit_golden):
    """The .pth the script saved holds exactly numpy_weights' arrays: what ViT-B/16's test regenerates."""
    entries = numpy_weights.vit_entries(**numpy_weights.VIT_TINY, num_classes=int(vit_golden["tiny_classes"]))
    want = numpy_weights.state_dict_of(entries, int(vit_golden["weight_seed"]))
    got = load_state_dict(GOLDEN / "checkpoints" / "vit_tiny.pth")
    assert list(got) == list(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])


def test_safetensors_import_equals_pth(tiny, tiny_config, numpy_weights, vit_golden, tmp_path):
    path = tmp_path / "vit_tiny.safetensors"
    numpy_weights.write_safetensors(path, load_state_dict(GOLDEN / "checkpoints" / "vit_tiny.pth"))
    other = tiny_model(tiny_config, int(vit_golden["tiny_classes"]), path)
    jax.tree_util.tree_map(np.testing.assert_array_equal, other.variables, tiny.variables)


def test_legacy_mlp_names_load(tiny, tiny_config, numpy_weights, vit_golden, tmp_path):
    """torchvision's published vit_b_16-c867db91.pth predates the MLP rename: mlp.linear_1 / mlp.linear_2."""
    state = load_state_dict(GOLDEN / "checkpoints" / "vit_tiny.pth")
    legacy = {k.replace("mlp.0.", "mlp.linear_1.").replace("mlp.3.", "mlp.linear_2."): v for k, v in state.items()}
    assert sum("linear_1" in k for k in legacy) == tiny_config.num_layers * 2
    path = tmp_path / "vit_tiny_legacy_names.safetensors"
    numpy_weights.write_safetensors(path, legacy)
    other = tiny_model(tiny_config, int(vit_golden["tiny_classes"]), path)
    jax.tree_util.tree_map(np.testing.assert_array_equal, other.variables, tiny.variables)


def test_weights_land_in_flax_layout(tiny):
    state = load_state_dict(GOLDEN / "checkpoints" / "vit_tiny.pth")
    params = tiny.variables["params"]
    block = params["encoder"]["layers"]["encoder_layer_1"]
    p = "encoder.layers.encoder_layer_1."
    np.testing.assert_array_equal(params["class_token"], state["class_token"])
    np.testing.assert_array_equal(params["encoder"]["pos_embedding"], state["encoder.pos_embedding"])
    np.testing.assert_array_equal(params["conv_proj"]["kernel"], state["conv_proj.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(block["self_attention"]["in_proj"]["kernel"],
                                  state[p + "self_attention.in_proj_weight"].T)
    np.testing.assert_array_equal(block["self_attention"]["in_proj"]["bias"], state[p + "self_attention.in_proj_bias"])
    np.testing.assert_array_equal(block["ln_2"]["scale"], state[p + "ln_2.weight"])
    np.testing.assert_array_equal(block["mlp"]["3"]["kernel"], state[p + "mlp.3.weight"].T)
    np.testing.assert_array_equal(params["heads"]["head"]["kernel"], state["heads.head.weight"].T)


@pytest.mark.parametrize("name,target", [
    ("class_token", ("params", ("class_token",))),
    ("conv_proj.weight", ("params", ("conv_proj", "kernel"))),
    ("encoder.pos_embedding", ("params", ("encoder", "pos_embedding"))),
    ("encoder.layers.encoder_layer_11.ln_1.weight",
     ("params", ("encoder", "layers", "encoder_layer_11", "ln_1", "scale"))),
    ("encoder.layers.encoder_layer_0.ln_2.bias", ("params", ("encoder", "layers", "encoder_layer_0", "ln_2", "bias"))),
    ("encoder.layers.encoder_layer_3.self_attention.in_proj_weight",
     ("params", ("encoder", "layers", "encoder_layer_3", "self_attention", "in_proj", "kernel"))),
    ("encoder.layers.encoder_layer_3.self_attention.in_proj_bias",
     ("params", ("encoder", "layers", "encoder_layer_3", "self_attention", "in_proj", "bias"))),
    ("encoder.layers.encoder_layer_3.self_attention.out_proj.weight",
     ("params", ("encoder", "layers", "encoder_layer_3", "self_attention", "out_proj", "kernel"))),
    ("encoder.layers.encoder_layer_5.mlp.0.weight", ("params", ("encoder", "layers", "encoder_layer_5", "mlp", "0",
                                                                "kernel"))),
    ("encoder.ln.weight", ("params", ("encoder", "ln", "scale"))),
    ("heads.head.bias", ("params", ("heads", "head", "bias"))),
    ("encoder.layers.encoder_layer_5.mlp.linear_1.weight", ("params", ("encoder", "layers", "encoder_layer_5", "mlp",
                                                                       "0", "kernel"))),
    ("encoder.layers.encoder_layer_5.mlp.linear_2.bias", ("params", ("encoder", "layers", "encoder_layer_5", "mlp",
                                                                     "3", "bias"))),
])
def test_torch_name_map(name, target):
    assert vit.torch_name_map(name) == target


def test_jit_equals_eager_and_batch_equals_one_by_one(tiny, tiny_input):
    x = jnp.asarray(tiny_input)
    batched = jax.jit(lambda m, v: m.logits(v))(tiny, x)
    np.testing.assert_allclose(tiny.logits(x), batched, rtol=0, atol=1e-5)
    for i in range(x.shape[0]):
        np.testing.assert_allclose(tiny.logits(x[i:i + 1])[0], batched[i], rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def vit_b_16_shapes(shape_model):
    return shape_model("vit_b_16")


def test_layer_paths_mirror_torchvision(vit_b_16_shapes):
    layers = gigjax.list_layers(vit_b_16_shapes)
    assert layers["conv_proj"] == (1, 14, 14, 768)
    for i in range(12):
        block = f"encoder/layers/encoder_layer_{i}"
        assert layers[block] == (1, 14, 14, 768)  # listed on the card: seen through its reshape
        if i < 11:  # not listed: the raw tokens
            assert layers[f"{block}/ln_1"] == layers[f"{block}/self_attention"] == (1, 197, 768)
            assert layers[f"{block}/ln_2"] == layers[f"{block}/mlp"] == (1, 197, 768)
        assert layers[f"{block}/self_attention/in_proj"] == (1, 197, 3 * 768)
        assert layers[f"{block}/mlp/0"] == layers[f"{block}/mlp/1"] == (1, 197, 3072)
    last = "encoder/layers/encoder_layer_11"
    assert all(layers[f"{last}/{part}"] == (1, 14, 14, 768) for part in ("ln_1", "self_attention", "ln_2", "mlp"))
    assert "encoder/layers/encoder_layer_12" not in layers
    assert layers["encoder/ln"] == (1, 14, 14, 768)
    assert layers["heads/head"] == (1, 1000)


def test_torch_dotted_names_resolve(vit_b_16_shapes):
    assert gigjax.resolve_layers(vit_b_16_shapes, ["encoder.layers.encoder_layer_11.ln_1"]) == (
        "encoder/layers/encoder_layer_11/ln_1",)


def test_card(vit_b_16_shapes):
    card = vit_b_16_shapes.card
    layers = gigjax.list_layers(vit_b_16_shapes)
    assert card.cam_layer == "encoder/layers/encoder_layer_11/ln_1" and card.classifier is None
    assert set(card.layers) <= set(layers) and card.cam_layer in card.layers
    # torchvision's ViT_B_16_Weights.IMAGENET1K_V1.transforms(): resize 256, crop 224, ImageNet mean/std.
    assert card.input_size == (224, 224) and card.resize_short == 256
    assert card.mean == (0.485, 0.456, 0.406) and card.std == (0.229, 0.224, 0.225)
    assert card.num_classes == 1000 and card.class_names[281] == "tabby"
    assert "vit_b_16" in gigjax.available_models()


def test_last_stage_is_the_last_block_and_the_final_norm(vit_b_16_shapes):
    from gigjax.finetune.backbone import classifier_path, split_params

    trainable, frozen = split_params(vit_b_16_shapes.variables["params"], vit_b_16_shapes.card.last_stage)
    assert {k.split("/")[2] if k.startswith("encoder/layers") else k.split("/")[1] for k in trainable} == {
        "encoder_layer_11", "ln"}
    assert "encoder/pos_embedding" in frozen and "heads/head/kernel" in frozen
    assert classifier_path(vit_b_16_shapes) == "heads/head"


def test_twice_the_size_matches_torchvision_interpolate_embeddings(tiny, numpy_weights, vit_golden, tiny_config):
    """At 64×64 (what GIG-CAM(F)'s 2× scale feeds it) the 4×4 position grid is resized bicubically to
    8×8, exactly as torchvision's interpolate_embeddings does for a checkpoint run at another size."""
    x = numpy_weights.input_batch(int(vit_golden["input_seed"]), size=2 * tiny_config.image_size).transpose(0, 2, 3, 1)
    logits = jax.jit(lambda m, v: m.logits(v))(tiny, jnp.asarray(x))
    assert_close_relative(logits, vit_golden["tiny_64_logits"])


def test_bicubic_matrix_interpolates():
    """Rows sum to 1; align_corners=True puts the input samples (both ends included) on output samples."""
    m = vit.bicubic_matrix(5, 9)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(m[0], np.eye(5)[0])
    np.testing.assert_array_equal(m[-1], np.eye(5)[-1])
    np.testing.assert_allclose(m[2 * np.arange(5)], np.eye(5), atol=1e-6)  # the input samples themselves
    np.testing.assert_allclose(vit.bicubic_matrix(7, 7), np.eye(7), atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 36, 32, 3), (1, 4, 4, 3), (1, 32, 32)])
def test_input_that_does_not_fit_the_patches_is_a_clear_error(tiny, shape):
    with pytest.raises(gigjax.GigjaxError, match=r"H and W multiples of its patch size 8.*got shape"):
        tiny.logits(jnp.zeros(shape))


def test_non_square_input_runs(tiny):
    assert tiny.logits(jnp.zeros((1, 32, 48, 3))).shape == (1, 5)


def test_random_weights_fill_every_variable():
    model = gigjax.load_model("vit_b_16", weights="random", num_classes=10)
    arch = zoo.architecture("vit_b_16")
    expected = zoo._expected_shapes(arch, arch.build(10))
    shapes = jax.tree_util.tree_map(lambda v: v.shape, model.variables)
    assert shapes == jax.tree_util.tree_map(lambda v: v.shape, expected)
    assert model.variables["params"]["heads"]["head"]["kernel"].shape == (768, 10)
    assert float(jnp.std(model.variables["params"]["encoder"]["layers"]["encoder_layer_4"]["mlp"]["0"]["kernel"])) > 0


def test_checkpoint_of_another_size_is_a_weight_mismatch(cache_dir):
    with pytest.raises(gigjax.WeightMismatchError, match="not a vit_b_16 checkpoint.*wrong shape"):
        gigjax.load_model("vit_b_16", weights=GOLDEN / "checkpoints" / "vit_tiny.pth", num_classes=5)


def test_vit_b_16_logits_match_torchvision(numpy_weights, vit_golden, tmp_path, monkeypatch):
    """ViT-B/16 at full size: 86M regenerated weights → .safetensors → load_model → torchvision's logits."""
    state = numpy_weights.random_state_dict("vit_b_16", int(vit_golden["weight_seed"]))
    path = tmp_path / "vit_b_16.safetensors"
    numpy_weights.write_safetensors(path, state)
    del state
    monkeypatch.setenv("GIGJAX_CACHE", str(tmp_path / "cache"))
    model = gigjax.load_model("vit_b_16", weights=path)
    x = numpy_weights.input_batch(int(vit_golden["input_seed"])).transpose(0, 2, 3, 1)
    logits = jax.jit(lambda m, v: m.logits(v))(model, jnp.asarray(x))
    want = vit_golden["vit_b_16_logits"]
    assert logits.shape == want.shape == (2, 1000)
    assert_close_relative(logits, want)
    assert not np.allclose(want[0], want[1], atol=1e-2)


# --- CAM methods on the token layers (the card's reshape: gigjax.tokens_to_grid(skip=1)) ------------------

GRADIENT_CAMS = ("gradcam", "gradcam_pp", "xgradcam", "layercam", "hirescam")


def test_card_reshapes_every_listed_token_layer(vit_b_16_shapes):
    card = vit_b_16_shapes.card
    assert card.reshape_for(card.cam_layer) == gigjax.tokens_to_grid(skip=1)
    assert {layer for layer, _ in card.reshape} == set(card.layers) - {"conv_proj"}
    assert card.reshape_for("conv_proj") is None  # already a (B, 14, 14, 768) map


@pytest.fixture(scope="module")
def tiny_gradient_cams(tiny, tiny_input, vit_golden):
    """Every gradient CAM of the tiny ViT at its card's default layer, from one jit, for the golden classes."""
    classes = jnp.asarray(vit_golden["tiny_class"])
    run = jax.jit(lambda m, x: {name: gigjax.explainer(name)(m, x, classes) for name in GRADIENT_CAMS})
    return run(tiny, jnp.asarray(tiny_input))


@pytest.mark.parametrize("method", GRADIENT_CAMS)
def test_matches_pytorch_grad_cam_with_reshape_transform(tiny_gradient_cams, vit_golden, method):
    """pytorch-grad-cam 1.5.7 at encoder.layers[-1].ln_1 with its ViT reshape_transform (drop the class
    token, 4×4 grid): both sides ReLU → min-max → bilinear up → min-max (as in test_pytorch_grad_cam_parity)."""
    got = np.asarray(tiny_gradient_cams[method])
    assert got.shape == (2, 32, 32)
    np.testing.assert_allclose(got, vit_golden[f"tiny_{method}"], atol=1e-3, rtol=0)


def test_vit_b_16_gradcam_needs_no_options(numpy_weights):
    model = gigjax.load_model("vit_b_16", weights="random", seed=3)
    x = jnp.asarray(numpy_weights.input_batch(5, batch=1).transpose(0, 2, 3, 1))
    maps = np.asarray(gigjax.explain(model, x, method="gradcam"))
    assert maps.shape == (1, 224, 224) and np.isfinite(maps).all() and maps.max() > 0.5


# Methods that cannot explain a ViT's class-token head, and what they must say instead.
REFUSALS = {"cam": "needs a global-average-pooling \\+ linear head; vit_tiny has none",
            "fgcam": "FG-CAM has no relevance plan for 'vit_tiny'"}
# The other layer methods (the gradient CAMs are checked against pytorch-grad-cam above); FG-CAM is a
# CAM method even though its maps live at the input.
OTHER_CAMS = sorted(m for m in gigjax.available_methods()
                    if (gigjax.get_method(m).uses_layers or m == "fgcam") and m not in GRADIENT_CAMS)


@pytest.mark.slow
@pytest.mark.parametrize("method", OTHER_CAMS)
def test_every_cam_method_runs_on_the_token_layer_or_refuses_clearly(tiny, tiny_input, vit_golden, method):
    """With no options but a short path (8 steps), each method explains the tiny ViT at the card's
    reshaped ln_1 (GIG-CAM(F) also at 2×: 8×8 tokens) or refuses with a GigjaxError saying why."""
    options = {"steps": 8} if "steps" in gigjax.get_method(method).options else {}
    x, classes = jnp.asarray(tiny_input), jnp.asarray(vit_golden["tiny_class"])
    if method in REFUSALS:
        with pytest.raises(gigjax.GigjaxError, match=REFUSALS[method]):
            gigjax.explain(tiny, x, method=method, targets=classes, **options)
        return
    maps = np.asarray(gigjax.explain(tiny, x, method=method, targets=classes, **options))
    assert maps.shape == (2, 32, 32)
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1 + 1e-6
    assert (maps.max(axis=(1, 2)) > 0.5).all()  # a real map per image, not an all-zero fallback
