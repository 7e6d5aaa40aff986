"""benchmarks/fusion_ablation.py: the configurations of the ablation, the paired noise estimate, and a
smoke run of the script on the fetched labelme VOC photos (one method, two configurations, each an
``Evaluation`` run whose summary the printed table must repeat)."""

import importlib.util
import json
import math
import os

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("fusion_ablation",
                                                  os.path.join(ROOT, "benchmarks", "fusion_ablation.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configurations_cover_the_issue_grid_and_run_one_scale_once(script):
    from gigjax.fusion import FUSIONS

    configs = script.configurations(script.METHODS, script.PYRAMIDS, tuple(FUSIONS))
    # per method and signal: (1,) once + 2 pyramids × 3 rules; GIG-CAM has two path signals
    assert len(configs) == 4 * (1 + 2 * len(FUSIONS))
    assert len(set(configs)) == len(configs)
    assert {c[2] for c in configs if c[1] == "gigcam"} == {"gradient", "cam"}
    assert {c[2] for c in configs if c[1] != "gigcam"} == {None}
    assert all((c[4] is None) == (len(c[3]) == 1) for c in configs)
    only_cam = script.configurations(script.METHODS[2:], ((1, 2),), ("mean",), {"cam"})
    assert only_cam == [("GIG-CAM", "gigcam", "cam", (1, 2), "mean")]


def test_paired_difference_by_hand(script):
    mean, (low, high) = script.paired_difference({0: 3.0, 1: 5.0, 2: 9.0}, {0: 1.0, 1: 1.0, 2: 1.0, 7: 4.0})
    assert mean == pytest.approx(14 / 3)  # differences 2, 4, 8 over the shared images
    assert 2.0 <= low <= mean <= high <= 8.0
    assert script.paired_difference({0: 1.0}, {0: 0.5}) == (0.5, None)
    same = script.paired_difference({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0})
    assert same == (0.0, (0.0, 0.0))


@pytest.mark.slow
def test_quick_run_prints_one_table(script, fixtures_dir, tmp_path, capsys):
    voc = os.path.join(fixtures_dir, "labelme", "voc")
    argv = ["--dataset", voc, "--quick", "--methods", "gradcam", "--pyramids", "1", "1,2",
            "--fusions", "geometric", "--out", str(tmp_path)]
    assert script.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    table = [[c.strip() for c in line.strip("| ").split(" | ")] for line in lines if line.startswith("| ")]
    header, body = table[0], table[1:]
    from gigjax.metrics import metric

    titles = {m: metric(m).title for m in script.METRICS}
    assert header == ["Method", "path signal", "scales", "fusion"] + [titles[m] for m in script.METRICS] + ["wall"]
    assert [row[:4] for row in body] == [["Grad-CAM", "—", "1", "(any)"], ["Grad-CAM", "—", "1,2", "geometric"]]
    digits = {m: metric(m).digits for m in script.METRICS}
    for row, folder in zip(body, ("1", "1-2-geometric")):
        summary = json.load(open(tmp_path / "gradcam" / folder / "summary.json"))["methods"]["gradcam"]
        for cell, name in zip(row[4:], script.METRICS):
            value = summary[name]["value"]
            assert value is not None and math.isfinite(value), (folder, name)  # the 3 photos hold 2 mapped pairs
            assert cell == script.rows_.fmt(value, digits[name]), (folder, name, cell, value)
        assert row[-1].endswith(" s")
    # the paired Average Drop line of the second row, against the first
    (line,) = [x for x in lines if x.startswith("- Grad-CAM / — / 1,2 / geometric: ")]
    single, fused = (json.load(open(tmp_path / "gradcam" / f / "summary.json"))["methods"]["gradcam"]
                     ["average_drop"]["value"] for f in ("1", "1-2-geometric"))
    assert float(line.split(": ")[1].split(" ")[0]) == pytest.approx(fused - single, abs=0.01)
    assert np.isfinite([float(x) for x in line.split("[")[1].rstrip("]").split(", ")]).all()


def test_unknown_fusion_is_a_clear_error_before_any_work(script, tmp_path):
    with pytest.raises(SystemExit, match="no such method or fusion: max"):
        script.main(["--dataset", str(tmp_path / "absent"), "--fusions", "geometric,max"])
