"""gigjax/commands/display.py: `gigjax explain`'s --sign, --clip-percentile and --cmap flags, and the
overlay PNG they produce."""

import numpy as np
import pytest
from PIL import Image

from gigjax import plot, postprocess
from gigjax.cli import build_parser, main
from gigjax.commands.display import display_options
from gigjax.imageio import read_image, sample_photo_path


def _options(*argv, method="gradcam"):
    return display_options(build_parser().parse_args(["explain", *argv]), method)


def test_defaults_per_method():
    assert _options() == {"sign": "positive", "percentile": 100.0, "cmap": "jet"}
    assert _options(method="integrated_gradients") == {"sign": "positive", "percentile": 99.5, "cmap": "jet"}
    assert _options("--no-relu", method="guided_ig") == {"sign": "all", "percentile": 99.5, "cmap": "bwr"}


def test_flags_override_the_defaults():
    assert _options("--sign", "absolute", "--clip-percentile", "99", "--cmap", "gray") == \
        {"sign": "absolute", "percentile": 99.0, "cmap": "gray"}
    assert _options("--sign", "all", "--cmap", "viridis")["cmap"] == "viridis"  # a matplotlib name


@pytest.mark.parametrize("argv, message", [
    (["--cmap", "rainbowz"], "unknown colour map 'rainbowz'"),
    (["--clip-percentile", "0"], "expected a percentile in (0, 100]"),
    (["--clip-percentile", "high"], "expected a percentile in (0, 100]"),
    (["--sign", "negative"], "invalid choice: 'negative'"),
])
def test_bad_flags_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["explain", *argv])
    assert message in capsys.readouterr().err


def test_the_png_is_the_clipped_overlay_of_the_saved_map(tmp_path, capsys, lite0):
    """Integrated Gradients (2 steps) through the CLI: its PNG is plot.save_overlay of the saved raw
    map (positive part, resized to the crop) clipped at the 99.5th percentile."""
    code = main(["explain", "--method", "integrated_gradients", "--steps", "2", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    raw = np.load(tmp_path / "chelsea_integrated_gradients.npy")
    x = lite0.preprocess(read_image(sample_photo_path()))
    crop = np.clip(np.asarray(lite0.denormalize(x))[0] + 0.5, 0, 255).astype(np.uint8)
    shown = np.asarray(postprocess.upsample(plot.apply_sign(raw[None], "positive"), (224, 224)))[0]
    written = np.asarray(Image.open(tmp_path / "chelsea_integrated_gradients.png").convert("RGB"))
    scaled = plot.scale(shown, "positive", 99.5)
    assert scaled.clipped and np.mean(scaled.values >= 1.0) == pytest.approx(0.005, abs=0.002)
    expected = plot.overlay(crop, scaled.values)
    enlarged = np.asarray(Image.fromarray(expected).resize((448, 448), Image.Resampling.BICUBIC))
    np.testing.assert_array_equal(written[28:, :448], enlarged)
