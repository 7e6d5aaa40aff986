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


# --- more than 8 bits, EXIF orientation, oversized images (issue 12.5, 12.6) ---------------------


def test_16_bit_greyscale_png_is_scaled_not_saturated(tmp_path):
    values = np.arange(0, 65536, 257, dtype=np.uint16).reshape(16, 16)  # 0, 257, ..., 65535
    values[0, :3] = (128, 129, 65407)  # round-half cases: 128/257 → 0, 129/257 → 1, 65407/257 → 254.5 → 255
    Image.fromarray(values).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    img = read_image(tmp_path / "deep.png")
    want = np.floor(values.astype(np.float64) * 255 / 65535 + 0.5).astype(np.uint8)
    assert img.shape == (16, 16, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(img, np.repeat(want[..., None], 3, axis=-1))
    assert img.min() == 0 and img.max() == 255 and len(np.unique(img)) > 200


@pytest.mark.parametrize("top", [1.0, 255.0])
def test_float_tiff_in_0_1_or_0_255_is_scaled(tmp_path, top):
    values = np.linspace(0, top, 64, dtype=np.float32).reshape(8, 8)
    Image.fromarray(values).save(tmp_path / "float.tiff")
    assert Image.open(tmp_path / "float.tiff").mode == "F"
    img = read_image(tmp_path / "float.tiff")
    want = np.floor(values.astype(np.float64) * (255.0 / top) + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(img, np.repeat(want[..., None], 3, axis=-1))
    assert img.max() == 255


@pytest.mark.parametrize("values, message", [
    (np.array([[-0.5, 0.5]], np.float32), r"float image with values in \[-0.5, 0.5\]"),
    (np.array([[0.0, 300.0]], np.float32), r"float image with values in \[0, 300\]"),
    (np.array([[0.0, np.nan]], np.float32), "float image"),
    (np.array([[0, 70000]], np.int32), r"32-bit integer image with values in \[0, 70000\]"),
])
def test_images_of_unknown_range_are_refused(tmp_path, values, message):
    Image.fromarray(values).save(tmp_path / "odd.tiff")
    with pytest.raises(GigjaxError, match=message) as info:
        read_image(tmp_path / "odd.tiff")
    assert str(tmp_path / "odd.tiff") in str(info.value)


def test_exif_orientation_is_applied(tmp_path):
    stored = np.zeros((16, 32, 3), np.uint8)  # as the sensor stored it: red left, blue right
    stored[:, :16] = (255, 0, 0)
    stored[:, 16:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    Image.fromarray(stored).save(tmp_path / "portrait.jpg", exif=exif, quality=95)
    img = read_image(tmp_path / "portrait.jpg").astype(int)
    assert img.shape == (32, 16, 3)
    np.testing.assert_allclose(img[:12].mean(axis=(0, 1)), (255, 0, 0), atol=12)  # red on top
    np.testing.assert_allclose(img[20:].mean(axis=(0, 1)), (0, 0, 255), atol=12)  # blue below


def test_decompression_bomb_is_a_gigjax_error(tmp_path, monkeypatch):
    Image.new("L", (40, 40)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1600 pixels > 2 x the limit: PIL raises
    with pytest.raises(GigjaxError, match=r"big\.png: too large an image"):
        read_image(tmp_path / "big.png")
