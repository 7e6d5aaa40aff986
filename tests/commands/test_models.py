"""gigjax/commands/models.py: `gigjax models` lists the card's layers, `--all` every probe-able layer."""

import jax

from gigjax.cli import main
from gigjax.models.zoo import abstract_model
from gigjax.probe import list_layers


def test_all_lists_every_layer_with_its_shape(capsys, lite0):
    assert main(["models", "efficientnet_lite0", "--all"]) == 0
    out = capsys.readouterr().out
    listed = [line.split() for line in out.splitlines() if line.startswith("    ")]
    expected = list_layers(lite0)  # the loaded model's layers: the same as the weight-free listing
    assert [name for name, _ in listed] == list(expected) and len(listed) == 164
    assert dict(listed)["blocks_15/depthwise"] == "7x7x1152" and dict(listed)["head"] == "7x7x1280"
    assert "all 164 layers" in out


def test_models_without_weights_list_their_layers_too(capsys):
    assert main(["models", "resnet50", "--all"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("    ")]
    assert "layer4/2/conv3" in names and "layer4/2/relu3" in names and "fc" in names


def test_default_listing_is_the_card_selection_and_says_how_to_see_all(capsys):
    assert main(["models", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "layers: features/1, features/3," in out
    assert "(18 of 41 layers; every one: gigjax models vgg16 --all)" in out


def test_abstract_model_reads_no_weights():
    model = abstract_model("vgg16")
    assert all(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree_util.tree_leaves(model.variables))
