"""gigjax/methods/perturb.py: chunked evaluation and fixed classes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.methods.perturb import fixed_classes, map_chunks


@pytest.mark.parametrize("n, chunk", [(10, 3), (10, 10), (10, 64), (1, 4), (12, 4)])
def test_map_chunks_covers_every_item_once(n, chunk):
    calls = []

    def fn(index):
        calls.append(index.shape)
        return {"sq": index.astype(jnp.float32) ** 2, "pair": jnp.stack([index, -index], axis=1)}

    out = jax.jit(lambda: map_chunks(fn, n, chunk))()
    np.testing.assert_array_equal(out["sq"], np.arange(n) ** 2)
    np.testing.assert_array_equal(out["pair"], np.stack([np.arange(n), -np.arange(n)], axis=1))
    assert calls == [(min(chunk, n),)]  # traced once, for one chunk shape


def test_fixed_classes():
    logits = jnp.array([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0]])
    scores, classes = fixed_classes(None, logits, "m")
    np.testing.assert_array_equal(classes, [1, 0])
    np.testing.assert_array_equal(scores, [2.0, 3.0])
    _, classes = fixed_classes(lambda l: jnp.argmin(l, axis=-1), logits, "m")
    np.testing.assert_array_equal(classes, [0, 1])
    with pytest.raises(gigjax.GigjaxError, match="class indices"):
        fixed_classes(lambda l: l[:, 0], logits, "m")
