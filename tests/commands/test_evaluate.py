"""`gigjax evaluate` end to end on the real photos with EfficientNet-Lite0, and its error exits."""

from __future__ import annotations

import json
import os
import pytest

from fixtures.standin import use_class_map
from gigjax.cli import main

@pytest.fixture
def class_map(monkeypatch):
    use_class_map(monkeypatch)


def test_pointing_game_on_the_labelme_bus_hits_with_gradcam_on_lite0(fixtures_dir, tmp_path, class_map, capsys):
    out = str(tmp_path / "run")
    argv = ["evaluate", "--dataset", os.path.join(fixtures_dir, "labelme", "voc"), "--methods", "gradcam",
            "--metrics", "pointing_game,energy_pointing_game", "--batch-size", "4", "--out", out, "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| gradcam |" in printed and "unmapped classes" in printed and "person ×2" in printed
    summary = json.load(open(os.path.join(out, "summary.json")))
    pg = summary["methods"]["gradcam"]["pointing_game"]
    assert pg["classes"]["bus"] == {"hits": 1, "misses": 0, "accuracy": 100.0}
    assert pg["unmapped"] == {"person": 2}
    assert summary["methods"]["gradcam"]["energy_pointing_game"]["n"] >= 1
    lines = open(os.path.join(out, "results.jsonl")).read().count("\n")
    assert main(argv) == 0                                   # resuming a finished run recomputes nothing
    assert open(os.path.join(out, "results.jsonl")).read().count("\n") == lines


def test_confidence_metrics_on_the_quokka(fixtures_dir, tmp_path, capsys):
    out = str(tmp_path / "quokka")
    assert main(["evaluate", "--dataset", os.path.join(fixtures_dir, "quokka", "annotations.json"),
                 "--metrics", "average_drop,increase_in_confidence", "--out", out, "--no-progress"]) == 0
    result = json.load(open(os.path.join(out, "summary.json")))["methods"]["gradcam"]
    assert 0.0 <= result["average_drop"]["value"] <= 100.0 and result["average_drop"]["n"] == 1
    assert result["increase_in_confidence"]["value"] in (0.0, 100.0)
    assert "Average Drop %" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--dataset", "mnist"], "unsupported TFDS dataset 'mnist'"),
    (["--dataset", "{quokka}", "--metrics", "pointing"], "unknown metric(s) pointing"),
    (["--dataset", "{quokka}", "--methods", "nosuch"], "unknown method 'nosuch'"),
    (["--dataset", "{bad_json}"], "not a readable COCO JSON"),
    (["--dataset", "{quokka}", "--no-normalize"], "--no-normalize does not apply"),
])
def test_errors_exit_2_with_one_line(fixtures_dir, tmp_path, capsys, args, message):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    paths = {"quokka": os.path.join(fixtures_dir, "quokka", "annotations.json"), "bad_json": str(bad)}
    args = [a.format(**paths) for a in args]
    assert main(["evaluate", *args, "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--dataset", "{quokka}", "--layer", "blocks_99"], "unknown layer 'blocks_99'"),
    (["--dataset", "{empty}"], "the COCO file lists no images"),
])
def test_bad_input_leaves_no_out_folder(fixtures_dir, tmp_path, capsys, args, message):
    empty = tmp_path / "empty.json"
    empty.write_text('{"images": [], "categories": [{"id": 1, "name": "cat"}], "annotations": []}')
    paths = {"quokka": os.path.join(fixtures_dir, "quokka", "annotations.json"), "empty": str(empty)}
    out = tmp_path / "out"
    assert main(["evaluate", *[a.format(**paths) for a in args], "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()
