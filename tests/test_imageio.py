"""gigjax/imageio.py: photo reading (the overlays are tested in tests/test_plot.py)."""

import numpy as np
import pytest
from PIL import Image

from gigjax.errors import GigjaxError
from gigjax.imageio import read_image, sample_photo_path


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
