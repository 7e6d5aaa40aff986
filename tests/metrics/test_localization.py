"""Pointing Game and Energy-based PG against hand-computed values and a brute-force TorchRay-style
reference (an explicit occupancy mask and acceptance disc, as in TorchRay's PointingGame.evaluate)."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.metrics import box_region, energy_pointing_game, max_point, pointing_game, to_image_size


def _map_with_peak(shape, peaks, value=1.0):
    m = np.zeros(shape, np.float32)
    for r, c in peaks:
        m[r, c] = value
    return m


def _pg(maps, sizes, boxes, valid=None, tolerance=15):
    maps = jnp.asarray(np.asarray(maps, np.float32))
    boxes = jnp.asarray(np.asarray(boxes, np.float32))
    valid = jnp.ones(boxes.shape[:2], bool) if valid is None else jnp.asarray(valid)
    hit, point = _PG(maps, jnp.asarray(sizes, jnp.int32), boxes, valid, tolerance)
    return np.asarray(hit), np.asarray(point)


_PG = jax.jit(pointing_game, static_argnums=4)
_EBPG = jax.jit(energy_pointing_game)


def test_tolerance_edge_is_strict():
    m = _map_with_peak((60, 60), [(20, 20)])[None]
    # single-pixel boxes at distance 15 (miss), 14 (hit); diagonal 9,12 → 225 (miss); 9,11 → 202 (hit)
    cases = [((35, 20, 35, 20), 0.0), ((34, 20, 34, 20), 1.0), ((32, 29, 32, 29), 0.0), ((31, 29, 31, 29), 1.0),
             ((20, 5, 20, 5), 0.0), ((20, 6, 20, 6), 1.0)]
    for box, expected in cases:
        hit, point = _pg(m, [(60, 60)], [[box]])
        assert point.tolist() == [[20, 20]]
        assert hit[0] == expected, box


def test_point_inside_box_hits_and_tolerance_zero_never_hits():
    m = _map_with_peak((30, 30), [(10, 10)])[None]
    assert _pg(m, [(30, 30)], [[(5, 5, 15, 15)]])[0][0] == 1.0
    assert _pg(m, [(30, 30)], [[(5, 5, 15, 15)]], tolerance=0)[0][0] == 0.0


def test_ties_take_the_first_argmax_in_row_major_order():
    m = _map_with_peak((50, 60), [(40, 2), (5, 50)])[None]
    hit, point = _pg(m, [(50, 60)], [[(0, 35, 5, 45)]])   # a box around (40, 2) only
    assert point.tolist() == [[5, 50]] and hit[0] == 0.0
    hit, _ = _pg(m, [(50, 60)], [[(45, 0, 55, 10)]])      # a box around (5, 50)
    assert hit[0] == 1.0


def test_rows_are_y_and_columns_are_x():
    m = _map_with_peak((80, 90), [(5, 70)])[None]       # row 5, column 70
    assert _pg(m, [(80, 90)], [[(65, 0, 75, 10)]])[0][0] == 1.0   # x0=65..75, y0=0..10
    assert _pg(m, [(80, 90)], [[(0, 65, 10, 75)]])[0][0] == 0.0   # the same box with x and y swapped


def test_empty_region_and_blank_map_are_nan():
    m = _map_with_peak((30, 30), [(3, 3)])[None]
    hit, _ = _pg(m, [(30, 30)], [[(40, 40, 50, 50)]])         # box outside the image
    assert np.isnan(hit[0])
    hit, _ = _pg(m, [(30, 30)], [[(2, 2, 4, 4)]], valid=[[False]])  # no valid box
    assert np.isnan(hit[0])
    hit, _ = _pg(np.zeros((1, 30, 30)), [(30, 30)], [[(0, 0, 29, 29)]])  # blank map: never a silent hit
    assert np.isnan(hit[0])
    hit, _ = _pg(np.full((1, 30, 30), 0.3), [(30, 30)], [[(0, 0, 29, 29)]])
    assert np.isnan(hit[0])


def test_fractional_box_covers_the_integer_pixels_inside_it():
    m = _map_with_peak((40, 40), [(10, 10)])[None]
    # x0 = 24.6 → first column 25 (distance 15: miss); x0 = 24.0 → column 24 (distance 14: hit)
    assert _pg(m, [(40, 40)], [[(24.6, 10, 30, 10)]])[0][0] == 0.0
    assert _pg(m, [(40, 40)], [[(24.0, 10, 30, 10)]])[0][0] == 1.0


def test_pixels_outside_the_image_are_ignored_on_a_shared_canvas():
    canvas = np.zeros((2, 40, 50), np.float32)
    canvas[0, 35, 45] = 5.0   # outside image 0 (20 x 30): must not be the maximum
    canvas[0, 10, 10] = 1.0
    canvas[1, 35, 45] = 1.0   # image 1 is the full canvas
    hit, point = _pg(canvas, [(20, 30), (40, 50)], [[(5, 5, 12, 12)], [(44, 34, 46, 36)]])
    assert point.tolist() == [[10, 10], [35, 45]]
    assert hit.tolist() == [1.0, 1.0]


def _torchray_reference(saliency, boxes, tolerance):
    """Brute force: boolean mask of the boxes' pixels, acceptance disc (v + u) < tol² around the
    first argmax, hit = any(mask & disc)."""
    h, w = saliency.shape
    mask = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in boxes:
        mask[int(np.ceil(y0)):int(np.floor(y1)) + 1, int(np.ceil(x0)):int(np.floor(x1)) + 1] = True
    flat = int(np.argmax(saliency))
    pr, pc = flat // w, flat % w
    v, u = np.meshgrid((np.arange(h) - pr) ** 2, (np.arange(w) - pc) ** 2, indexing="ij")
    return float(np.any(mask & ((v + u) < tolerance ** 2)))


def test_matches_brute_force_reference_on_random_cases():
    rng = np.random.default_rng(0)
    batch, n, h, w = 64, 3, 48, 64
    maps = rng.random((batch, h, w)).astype(np.float32)
    x0 = rng.integers(0, w, (batch, n)); y0 = rng.integers(0, h, (batch, n))
    boxes = np.stack([x0, y0, np.minimum(x0 + rng.integers(0, 12, (batch, n)), w - 1),
                      np.minimum(y0 + rng.integers(0, 12, (batch, n)), h - 1)], -1).astype(np.float32)
    hit, _ = _pg(maps, np.tile([h, w], (batch, 1)), boxes)
    expected = [_torchray_reference(maps[i], boxes[i], 15) for i in range(batch)]
    assert hit.tolist() == expected
    assert 0 < sum(expected) < batch  # both outcomes exercised


def _ebpg(maps, sizes, boxes, valid=None):
    boxes = jnp.asarray(np.asarray(boxes, np.float32))
    valid = jnp.ones(boxes.shape[:2], bool) if valid is None else jnp.asarray(valid)
    return np.asarray(_EBPG(jnp.asarray(maps, jnp.float32), jnp.asarray(sizes, jnp.int32), boxes, valid))


def test_energy_hand_computed():
    m = np.zeros((1, 20, 40), np.float32)
    m[0, 0:5, :] = 1.0          # 5 rows × 40 columns of energy 1 = 200
    m[0, 10, 0:10] = 2.0        # 10 pixels of energy 2 = 20
    # box x 0..19 (20 columns), y 0..9 (10 rows): holds 5×20 = 100 of 220
    np.testing.assert_allclose(_ebpg(m, [(20, 40)], [[(0, 0, 19, 9)]]), [100 / 220], rtol=1e-6)
    # overlapping boxes count each pixel once (union): add y 0..10 x 0..4 → +5 (rows 0-4 done) +10 (row 10 x0-4)
    np.testing.assert_allclose(_ebpg(m, [(20, 40)], [[(0, 0, 19, 9), (0, 0, 4, 10)]]), [110 / 220], rtol=1e-6)
    # swapping x and y selects a different region: x 0..9, y 0..19 → 5×10 + 10×2 = 70
    np.testing.assert_allclose(_ebpg(m, [(20, 40)], [[(0, 0, 9, 19)]]), [70 / 220], rtol=1e-6)


def test_energy_ignores_negative_values_and_outside_pixels_and_nan_when_empty():
    m = np.zeros((1, 10, 10), np.float32)
    m[0, :5, :5] = 1.0
    m[0, 5:, 5:] = -3.0         # ReLU'd away
    m[0, 9, 9] = 1.0
    np.testing.assert_allclose(_ebpg(m, [(8, 8)], [[(0, 0, 4, 4)]]), [1.0], rtol=1e-6)  # (9, 9) is outside 8×8
    assert np.isnan(_ebpg(np.zeros((1, 10, 10)), [(10, 10)], [[(0, 0, 4, 4)]])[0])
    assert np.isnan(_ebpg(m, [(10, 10)], [[(20, 20, 30, 30)]])[0])


def test_box_region_union_and_clip():
    region = np.asarray(box_region(jnp.asarray([[[1, 2, 3, 2], [-5, -5, 0, 0]]], jnp.float32),
                                   jnp.ones((1, 2), bool), jnp.asarray([[4, 4]]), (5, 6)))
    expected = np.zeros((1, 5, 6), bool)
    expected[0, 2, 1:4] = True
    expected[0, 0, 0] = True
    np.testing.assert_array_equal(region, expected)


def test_to_image_size_equals_resize_per_image():
    rng = np.random.default_rng(1)
    maps = jnp.asarray(rng.random((2, 7, 7)), jnp.float32)
    sizes = [(30, 50), (41, 17)]
    out = np.asarray(to_image_size(maps, jnp.asarray(sizes), (48, 64)))
    for i, (h, w) in enumerate(sizes):
        ref = jax.image.resize(maps[i], (h, w), "bilinear", antialias=False)
        np.testing.assert_allclose(out[i, :h, :w], ref, atol=1e-6)


class JitEqualsEager(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_pointing_and_energy(self):
        rng = np.random.default_rng(2)
        maps = jnp.asarray(rng.random((3, 16, 20)), jnp.float32)
        sizes = jnp.asarray([[16, 20], [10, 12], [16, 5]])
        boxes = jnp.asarray(rng.integers(0, 15, (3, 2, 4)), jnp.float32)
        valid = jnp.asarray([[True, False], [True, True], [False, True]])
        hit, point = self.variant(pointing_game)(maps, sizes, boxes, valid)
        energy = self.variant(energy_pointing_game)(maps, sizes, boxes, valid)
        ref_hit, ref_point = pointing_game(maps, sizes, boxes, valid)
        np.testing.assert_array_equal(np.asarray(hit), np.asarray(ref_hit))
        np.testing.assert_array_equal(np.asarray(point), np.asarray(ref_point))
        np.testing.assert_allclose(energy, energy_pointing_game(maps, sizes, boxes, valid), rtol=1e-6)
        chex.assert_shape(max_point(maps, sizes), (3, 2))


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(3)
    maps = jnp.asarray(rng.random((4, 12, 12)), jnp.float32)
    sizes = jnp.asarray([[12, 12], [8, 12], [12, 9], [5, 5]])
    boxes = jnp.asarray(rng.integers(0, 12, (4, 2, 4)), jnp.float32)
    valid = jnp.ones((4, 2), bool)
    hit, _ = _PG(maps, sizes, boxes, valid, 15)
    energy = _EBPG(maps, sizes, boxes, valid)
    for i in range(4):
        h1, _ = _PG(maps[i:i + 1], sizes[i:i + 1], boxes[i:i + 1], valid[i:i + 1], 15)
        e1 = _EBPG(maps[i:i + 1], sizes[i:i + 1], boxes[i:i + 1], valid[i:i + 1])
        np.testing.assert_array_equal(np.asarray(h1), np.asarray(hit[i:i + 1]))
        np.testing.assert_allclose(np.asarray(e1), np.asarray(energy[i:i + 1]), rtol=1e-6)


@pytest.mark.parametrize("tolerance", [1, 15, 40])
def test_tolerance_parameter(tolerance):
    m = _map_with_peak((100, 100), [(50, 50)])[None]
    near = (50 + tolerance - 1, 50, 50 + tolerance - 1, 50)
    far = (50 + tolerance, 50, 50 + tolerance, 50)
    assert _pg(m, [(100, 100)], [[near]], tolerance=tolerance)[0][0] == 1.0
    assert _pg(m, [(100, 100)], [[far]], tolerance=tolerance)[0][0] == 0.0
