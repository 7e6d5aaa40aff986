"""models/card.py: class lookup by index or name, and the per-architecture knowledge a card carries."""

from __future__ import annotations

import jax
import pytest

from gigjax.errors import GigjaxError
from gigjax.models import ModelCard, available_models
from gigjax.models.relevance_plan import Plan
from gigjax.models.zoo import architecture


@pytest.fixture(scope="module")
def imagenet_card() -> ModelCard:
    return architecture("efficientnet_lite0").card(1000)


def test_an_exact_name_wins_over_a_case_insensitive_one(imagenet_card):
    # ImageNet has "Cardigan" (the Welsh corgi, 264) and "cardigan" (the sweater, 474)
    assert imagenet_card.class_index("cardigan") == 474
    assert imagenet_card.class_index("Cardigan") == 264
    assert imagenet_card.class_index(" cardigan ") == 474


def test_a_name_ambiguous_up_to_case_lists_the_candidates(imagenet_card):
    with pytest.raises(GigjaxError, match=r"'CARDIGAN' is ambiguous.*264 'Cardigan', 474 'cardigan'"):
        imagenet_card.class_index("CARDIGAN")


def test_a_unique_name_matches_case_insensitively(imagenet_card):
    assert imagenet_card.class_index("Espresso") == imagenet_card.class_names.index("espresso")


def test_a_name_listed_twice_is_ambiguous():
    card = ModelCard(name="dup", input_size=(8, 8), resize_short=8, mean=(0.5,) * 3, std=(0.5,) * 3,
                     class_names=("crane", "crane", "kite"), layers=(), cam_layer="")
    with pytest.raises(GigjaxError, match=r"ambiguous.*0 'crane', 1 'crane'"):
        card.class_index("crane")
    assert card.class_index("KITE") == 2


@pytest.mark.parametrize("target, message", [("unicorn", "unknown class 'unicorn'"), ("1000", "out of range"),
                                             (-1, "out of range")])
def test_unknown_classes(imagenet_card, target, message):
    with pytest.raises(GigjaxError, match=message):
        imagenet_card.class_index(target)


def test_indices_pass_through(imagenet_card):
    assert imagenet_card.class_index(7) == 7 and imagenet_card.class_index("7") == 7


@pytest.mark.parametrize("name", available_models())
def test_zoo_cards_carry_their_plan_and_last_stage(name):
    """Every zoo CNN carries an FG-CAM plan; the ViT has none (FG-CAM's rules are convolutional: it
    refuses the ViT with a clear error, tests/models/test_vit.py)."""
    card = architecture(name).card(1000)
    assert card.last_stage
    assert callable(card.relevance_plan) if name != "vit_b_16" else card.relevance_plan is None
    assert architecture(name).card(1000) == card and hash(architecture(name).card(1000)) == hash(card)


def test_a_zoo_plan_is_built_from_the_model_alone():
    """The ResNet50 plan reads only the parameter tree (shapes suffice: nothing is computed)."""
    arch = architecture("resnet50")
    module = arch.build(1000)
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, 224, 224, 3), "float32"))
    from gigjax.models import Model

    plan = arch.card(1000).relevance_plan(Model(module=module, variables=shapes, card=arch.card(1000)))
    assert isinstance(plan, Plan) and plan.base == "layer4"
