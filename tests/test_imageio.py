"""gigjax/imageio.py: photo reading and overlays."""

import numpy as np
import pytest
from PIL import Image

from gigjax.errors import GigjaxError
from gigjax.imageio import jet, overlay, read_image, sample_photo_path, save_overlay


def test_sample_photo_is_bundled():
    img = read_image(sample_photo_path())
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_any_mode_becomes_rgb(tmp_path, mode):
    Image.new(mode, (5, 4)).save(tmp_path / "x.png")
    assert read_image(tmp_path / "x.png").shape == (4, 5, 3)


def test_bad_files(tmp_path):
    with pytest.raises(GigjaxError, match="no such image file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "x.png").write_text("hello")
    with pytest.raises(GigjaxError, match="not a readable image"):
        read_image(tmp_path / "x.png")


def test_jet_endpoints():
    np.testing.assert_array_equal(jet(np.array([0.0, 0.5, 1.0])), [[0, 0, 128], [128, 255, 128], [128, 0, 0]])


def test_overlay_and_png(tmp_path):
    photo = np.full((8, 8, 3), 100, np.uint8)
    heat = np.linspace(0, 1, 64).reshape(8, 8)
    blended = overlay(photo, heat)
    assert blended.shape == (8, 8, 3) and blended.dtype == np.uint8
    save_overlay(tmp_path / "o.png", photo, heat, "title")
    assert Image.open(tmp_path / "o.png").size == (16, 16 + 28)
    with pytest.raises(GigjaxError, match="differ in size"):
        overlay(photo, heat[:4])
