"""The README's Python examples run as written (keeps the README true when behaviour changes).

Each ```python block is executed with only its data paths pointed at local files: the bundled photo
for ``cat.jpg``, the fetched labelme VOC photos for ``voc/2012`` and a temporary folder for the output.
"""

import os
import re

import jax
import jax.numpy as jnp
import numpy as np

import gigjax
from gigjax import postprocess

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")
PHOTO = os.path.join(os.path.dirname(gigjax.__file__), "assets", "chelsea.jpg")


def python_blocks() -> list[str]:
    with open(README, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def block_with(marker: str) -> int:
    """The index of the one README block containing ``marker`` (blocks move as sections are added)."""
    found = [i for i, block in enumerate(python_blocks()) if marker in block]
    assert len(found) == 1, f"{len(found)} README blocks contain {marker!r}"
    return found[0]


def run_block(index: int, replacements: dict[str, str]) -> dict:
    source = python_blocks()[index]
    for old, new in replacements.items():
        assert old in source, f"README block {index} no longer mentions {old!r}"
        source = source.replace(old, new)
    namespace: dict = {}
    exec(compile(source, f"README.md python block {index}", "exec"), namespace)
    return namespace


def test_readme_has_the_examples_this_file_runs():
    assert len(python_blocks()) == 3 + len(OWN_MODEL_BLOCKS)


def test_explain_example():
    ns = run_block(0, {'"cat.jpg"': repr(PHOTO)})
    x, maps, raw = ns["x"], ns["maps"], ns["raw"]
    assert x.shape == (1, 224, 224, 3)
    assert isinstance(maps, jax.Array) and maps.shape == (1, 224, 224)
    assert float(maps.min()) >= 0.0 and abs(float(maps.max()) - 1.0) < 1e-6
    assert raw.shape == (1, 7, 7)
    # the last line rebinds maps: the jitted two-layer explainer for class 281 (tabby), which equals
    # the layers' raw maps fused by the shared post-processing
    layers = [gigjax.explain(ns["model"], x, "gradcam", layer=name, targets=281, raw=True)
              for name in ("blocks_15", "head")]
    np.testing.assert_allclose(maps, postprocess.fuse_layers(layers, "max", size=(224, 224)), atol=1e-5)


def test_evaluate_example(fixtures_dir, tmp_path):
    voc = os.path.join(fixtures_dir, "labelme", "voc")
    ns = run_block(block_with("open_dataset"), {'"voc/2012"': repr(voc), '"runs/voc"': repr(str(tmp_path))})
    summary = ns["summary"]
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "results.jsonl").is_file()
    assert "gradcam" in str(summary)


# "Your own model": one block per kind of model, found by the constructor (or feature) it shows
OWN_MODEL_BLOCKS = ("Model.from_linen(MyCNN()", "Model.from_nnx", "Model.from_function", "tokens_to_grid(skip=1))",
                    "targets.region")


def test_own_linen_example():
    ns = run_block(block_with(OWN_MODEL_BLOCKS[0]), {})
    model, result = ns["model"], ns["result"]
    assert model.card.cam_layer == "block2" and model.card.classifier == "fc"
    assert ns["maps"].shape == (2, 32, 32)
    assert result.gradients["block2"].shape == (2, 32, 32, 16)
    eager = gigjax.probe(model, ns["x"], 3, ["block1", "block2"])  # the jitted probe equals the eager one
    np.testing.assert_allclose(result.gradients["block1"], eager.gradients["block1"], rtol=1e-5, atol=1e-8)


def test_own_nnx_example():
    ns = run_block(block_with(OWN_MODEL_BLOCKS[1]), {})
    assert ns["model"].card.layers == ("blocks/0", "blocks/1", "fc")
    np.testing.assert_allclose(ns["maps"], gigjax.explain(ns["model"], ns["x"], "layercam"), atol=1e-6)


def test_own_function_example():
    ns = run_block(block_with(OWN_MODEL_BLOCKS[2]), {})
    assert ns["model"].card.layers == ("features",) and ns["maps"].shape == ns["ig"].shape == (2, 32, 32)


def test_own_vit_example():
    ns = run_block(block_with(OWN_MODEL_BLOCKS[3]), {})
    assert ns["vit"].card.cam_layer == "encoder_layer_1/ln_1"
    assert ns["maps"].shape == (2, 32, 32) and bool(jnp.all(jnp.isfinite(ns["maps"])))


def test_own_bf16_segmentation_example():
    ns = run_block(block_with(OWN_MODEL_BLOCKS[4]), {})
    maps = ns["maps"]
    assert maps.dtype == jnp.float32 and maps.shape == (2, 32, 32) and float(maps.max()) > 0.99


def test_new_method_example():
    """The "Extending gigjax" file, run as written: its method is registered, reachable by name, and
    with power=1 it is Grad-CAM; it is unregistered afterwards so no other test sees it."""
    from gigjax import registry
    from gigjax.testing import tiny_cnn

    try:
        ns = run_block(block_with("gigjax/methods/power_cam.py"), {})
        assert "power_cam" in gigjax.available_methods()
        assert "power" in str(gigjax.describe("power_cam"))
        model = tiny_cnn()
        x = jax.random.normal(jax.random.PRNGKey(0), (2, *model.card.input_size, 3))
        np.testing.assert_allclose(gigjax.explain(model, x, "power_cam", targets=1),
                                   gigjax.explain(model, x, "gradcam", targets=1), atol=1e-6)
        squared = gigjax.explain(model, x, "power_cam", targets=1, power=2, raw=True)
        a_g = gigjax.probe(model, x, 1, (model.card.cam_layer,))
        a, g = a_g.activations[model.card.cam_layer], a_g.gradients[model.card.cam_layer]
        np.testing.assert_allclose(squared, ns["power_cam_term"](a, g, power=2), rtol=1e-5, atol=1e-6)
    finally:
        registry._METHODS.pop("power_cam", None)
