"""gigjax/plot.py: colour maps, sign handling, percentile clipping, overlays and the colour bar,
against values computed by hand on small arrays."""

import numpy as np
import pytest
from PIL import Image

from gigjax import plot
from gigjax.errors import GigjaxError
from gigjax.registry import available_methods, get_method


def test_jet_endpoints():
    np.testing.assert_array_equal(plot.jet(np.array([0.0, 0.5, 1.0])), [[0, 0, 128], [128, 255, 128], [128, 0, 0]])


def test_bwr_is_blue_white_red():
    np.testing.assert_array_equal(plot.bwr(np.array([0.0, 0.25, 0.5, 0.75, 1.0])),
                                  [[0, 0, 255], [128, 128, 255], [255, 255, 255], [255, 128, 128], [255, 0, 0]])


def test_gray_and_clipping_of_colour_positions():
    np.testing.assert_array_equal(plot.gray(np.array([-1.0, 0.0, 0.5, 1.0, 2.0]))[:, 0], [0, 0, 128, 255, 255])


def test_matplotlib_colour_maps_by_name():
    import matplotlib

    values = np.array([0.0, 0.5, 1.0])
    expected = (matplotlib.colormaps["viridis"](values)[:, :3] * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(plot.colorize(values, "viridis"), expected)
    assert plot.check_cmap("viridis") == "viridis"
    with pytest.raises(GigjaxError, match="unknown colour map 'nope'; built in: jet, bwr, gray"):
        plot.check_cmap("nope")


def test_apply_sign():
    m = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(plot.apply_sign(m, "positive"), [0, 0, 3])
    np.testing.assert_array_equal(plot.apply_sign(m, "absolute"), [2, 0, 3])
    np.testing.assert_array_equal(plot.apply_sign(m, "all"), m)
    with pytest.raises(GigjaxError, match="sign must be one of positive, absolute, all"):
        plot.apply_sign(m, "negative")


def test_scale_without_clipping_is_min_max():
    s = plot.scale(np.array([[1.0, 2.0], [3.0, 5.0]]))
    np.testing.assert_allclose(s.values, [[0, 0.25], [0.5, 1.0]])
    assert (s.low, s.high, s.clipped) == (1.0, 5.0, False)


def test_scale_clips_at_the_percentile():
    m = np.arange(11.0)[None]  # 0 … 10: the 90th percentile is 9
    s = plot.scale(m, "positive", 90.0)
    np.testing.assert_allclose(s.values[0], np.minimum(np.arange(11) / 9.0, 1.0))
    assert (s.low, s.high, s.clipped, s.percentile) == (0.0, 9.0, True, 90.0)


def test_scale_positive_and_absolute_of_a_signed_map():
    m = np.array([[-4.0, -1.0], [0.0, 2.0]])
    np.testing.assert_allclose(plot.scale(m, "positive").values, [[0, 0], [0, 1]])
    np.testing.assert_allclose(plot.scale(m, "absolute").values, [[1, 0.25], [0, 0.5]])


def test_scale_signed_is_symmetric_about_zero():
    m = np.array([[-4.0, -1.0], [0.0, 2.0]])
    s = plot.scale(m, "all")
    np.testing.assert_allclose(s.values, [[0.0, 0.375], [0.5, 0.75]])
    assert (s.low, s.high, s.clipped) == (-4.0, 4.0, False)
    clipped = plot.scale(np.array([-8.0, -1.0, 0.0, 1.0, 2.0]), "all", 75.0)  # sorted |m| 0 1 1 2 8: p75 = 2
    np.testing.assert_allclose(clipped.values, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert clipped.clipped and clipped.high == 2.0


def test_scale_of_a_constant_map_and_bad_input():
    np.testing.assert_array_equal(plot.scale(np.full((2, 2), 3.0)).values, np.zeros((2, 2)))
    np.testing.assert_array_equal(plot.scale(np.zeros((2, 2)), "all").values, np.full((2, 2), 0.5))
    with pytest.raises(GigjaxError, match="NaN or infinite"):
        plot.scale(np.array([[0.0, np.nan]]))
    with pytest.raises(GigjaxError, match=r"percentile must be in \(0, 100\]"):
        plot.scale(np.zeros((2, 2)), percentile=0)


def test_defaults_come_from_the_registry():
    for name in available_methods():
        expected = 100.0 if get_method(name).uses_layers else plot.INPUT_PERCENTILE
        assert plot.default_percentile(name) == expected
    assert plot.default_percentile("integrated_gradients") == plot.default_percentile("guided_ig") == 99.5
    assert plot.default_percentile("gradcam") == 100.0
    assert (plot.default_cmap("positive"), plot.default_cmap("absolute"), plot.default_cmap("all")) == ("jet", "jet", "bwr")


def test_overlay_blends_half_and_half():
    photo = np.full((2, 3, 3), 100, np.uint8)
    blended = plot.overlay(photo, np.zeros((2, 3)))
    np.testing.assert_array_equal(blended[0, 0], [50, 50, 114])  # ½·100 + ½·jet(0) = ½·(0, 0, 128)
    np.testing.assert_array_equal(plot.overlay(photo, np.ones((2, 3)), cmap="gray")[1, 2], [178, 178, 178])
    with pytest.raises(GigjaxError, match="differ in size"):
        plot.overlay(photo, np.zeros((2, 2)))


def test_save_overlay_png_with_colour_bar(tmp_path):
    photo = np.full((8, 8, 3), 100, np.uint8)
    heat = np.linspace(-1, 1, 64).reshape(8, 8)
    plot.save_overlay(tmp_path / "plain.png", photo, heat, "title", bar=False)
    assert Image.open(tmp_path / "plain.png").size == (16, 16 + 28)
    scaled = plot.save_overlay(tmp_path / "o.png", photo, heat, "title", sign="all", cmap="gray")
    assert (scaled.low, scaled.high) == (-1.0, 1.0)
    png = np.asarray(Image.open(tmp_path / "o.png").convert("RGB"))
    assert png.shape[0] == 16 + 28 and png.shape[1] > 16 + 8 + 14
    bar = png[28:, 16 + 8]  # the colour bar's first column: top = position 1, bottom = 0
    np.testing.assert_array_equal(bar[0], [255, 255, 255])
    np.testing.assert_array_equal(bar[-1], [0, 0, 0])
    assert np.all(np.diff(bar[:, 0].astype(int)) <= 0)  # monotone, white to black
    assert not list(tmp_path.glob("*.tmp"))  # written through files.atomic_write


def test_imageio_keeps_the_old_names():
    from gigjax import imageio

    assert imageio.overlay is plot.overlay and imageio.save_overlay is plot.save_overlay and imageio.jet is plot.jet
