"""gigjax/tokens.py: the token → grid reshape of ViT layers and writing a modified view back."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.tokens import apply_view, check_reshape, restore


def test_tokens_to_grid_drops_the_leading_tokens_row_major():
    tokens = jnp.arange(2 * 10 * 3, dtype=jnp.float32).reshape(2, 10, 3)  # 1 class token + 3×3 patches
    grid = gigjax.tokens_to_grid(skip=1)(tokens)
    assert grid.shape == (2, 3, 3, 3)
    np.testing.assert_array_equal(grid[1, 0, 2], tokens[1, 3])  # patch (0, 2) is token 1 + 2
    np.testing.assert_array_equal(grid[0, 2, 1], tokens[0, 1 + 2 * 3 + 1])


def test_explicit_grid_and_registers():
    tokens = jnp.ones((1, 5 + 2 * 4, 8))  # class token + 4 registers, a 2×4 grid
    assert gigjax.tokens_to_grid(skip=5, grid=(2, 4))(tokens).shape == (1, 2, 4, 8)
    with pytest.raises(gigjax.GigjaxError, match="not a square grid"):
        gigjax.tokens_to_grid(skip=5)(tokens)
    with pytest.raises(gigjax.GigjaxError, match="not grid 3×3"):
        gigjax.tokens_to_grid(skip=5, grid=(3, 3))(tokens)


def test_bad_reshapes_are_clear_errors():
    with pytest.raises(gigjax.GigjaxError, match="skip must be a non-negative int"):
        gigjax.tokens_to_grid(skip=1.5)
    with pytest.raises(gigjax.GigjaxError, match="grid must be positive"):
        gigjax.tokens_to_grid(grid=(0, 4))
    with pytest.raises(gigjax.GigjaxError, match="expects \\(B, N, D\\) tokens"):
        gigjax.tokens_to_grid()(jnp.ones((1, 4, 4, 2)))
    with pytest.raises(gigjax.GigjaxError, match="must be a callable"):
        check_reshape("tokens")
    with pytest.raises(gigjax.GigjaxError, match="not a \\(B, h, w, K\\) feature map"):
        apply_view(lambda t: t[:, 1:], jnp.ones((1, 5, 2)), "layer")


def test_reshapes_are_hashable_values():
    assert gigjax.tokens_to_grid(1) == gigjax.tokens_to_grid(skip=1)
    assert hash(gigjax.tokens_to_grid(1, (2, 3))) == hash(gigjax.tokens_to_grid(1, [2, 3]))
    card = gigjax.ModelCard(name="vit", input_size=(32, 32), reshape={"b": gigjax.tokens_to_grid(), "a": None})
    assert card.reshape_for("b") == gigjax.tokens_to_grid() and card.reshape_for("a") is None
    assert hash(card) == hash(gigjax.ModelCard(name="vit", input_size=(32, 32), reshape=card.reshape))


def test_restore_writes_the_view_back_and_keeps_the_class_token():
    tokens = jax.random.normal(jax.random.PRNGKey(0), (2, 17, 4))
    reshape = gigjax.tokens_to_grid()
    new = restore(reshape, jnp.zeros((2, 4, 4, 4)), tokens)
    np.testing.assert_array_equal(new[:, 0], tokens[:, 0])
    np.testing.assert_array_equal(new[:, 1:], 0.0)
    np.testing.assert_allclose(restore(reshape, reshape(tokens), tokens), tokens)
