"""Head replacement and the trainable/frozen split, on the tiny model and on the real zoo architectures."""

from __future__ import annotations

import flax.traverse_util
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.finetune import backbone as bb
from gigjax.models import Model, available_models
from gigjax.models.zoo import architecture

from finetune.toys import tiny_model


def test_classifier_path_from_the_card_or_found_by_tracing():
    assert bb.classifier_path(tiny_model()) == "fc"
    # no card entry (like VGG16): the last Dense producing the logits is found
    assert bb.classifier_path(tiny_model(classifier=None)) == "fc"


def test_classifier_of_vgg16_is_found_by_tracing():
    """VGG16's card names no classifier (no GAP head): the last Linear, ``classifier/6``, is found from
    the traced shapes alone (no weights, no compile)."""
    a = architecture("vgg16")
    module = a.build(1000)
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, *a.input_shape), jnp.float32))
    model = Model(module=module, variables=shapes, card=a.card(1000))
    assert model.card.classifier is None and bb.classifier_path(model) == "classifier/6"


def test_head_inputs_are_what_the_classifier_sees(tiny):
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 16, 16, 3))
    feats = bb.head_inputs(tiny, x)
    assert feats.shape == (3, 16)
    fc = tiny.variables["params"]["fc"]
    np.testing.assert_allclose(feats @ fc["kernel"] + fc["bias"], tiny.logits(x), rtol=1e-5, atol=1e-5)


def test_new_head_keeps_everything_else(tiny):
    new = bb.with_new_head(tiny, ("a", "b", "c"), bias=np.array([1.0, 2.0, 3.0]))
    assert new.card.class_names == ("a", "b", "c") and new.module.num_classes == 3
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 16, 16, 3))
    # zero kernel: the logits are the biases
    np.testing.assert_allclose(new.logits(x), np.tile([1.0, 2.0, 3.0], (2, 1)), atol=1e-6)
    old = flax.traverse_util.flatten_dict(tiny.variables, sep="/")
    for k, v in flax.traverse_util.flatten_dict(new.variables, sep="/").items():
        if not k.startswith("params/fc/"):
            np.testing.assert_array_equal(v, old[k])
    with pytest.raises(GigjaxError, match="bias"):
        bb.with_new_head(tiny, ("a", "b"), bias=np.zeros(3))


def test_split_and_merge_round_trip(tiny):
    trainable, frozen = bb.split_params(tiny.variables["params"], ("stage", "fc"))
    assert set(trainable) == {"stage/kernel", "stage/bias", "fc/kernel", "fc/bias"}
    assert "stem/kernel" in frozen and not set(trainable) & set(frozen)
    merged = bb.merge_params(trainable, frozen)
    assert jax.tree_util.tree_structure(merged) == jax.tree_util.tree_structure(tiny.variables["params"])
    with pytest.raises(GigjaxError, match="no parameters under 'stag'"):
        bb.split_params(tiny.variables["params"], ("stag",))


@pytest.mark.parametrize("arch", available_models())
def test_last_stage_names_real_layers(arch):
    a = architecture(arch)
    module = a.build(1000)
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, *a.input_shape), jnp.float32))
    trainable, frozen = bb.split_params(shapes["params"], bb.last_stage(a.card(1000)))
    assert trainable and frozen


def test_a_card_without_last_stage_asks_for_the_layers():
    with pytest.raises(GigjaxError, match="train_layers"):
        bb.last_stage(tiny_model().card)
