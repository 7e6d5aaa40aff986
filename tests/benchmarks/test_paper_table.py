"""benchmarks/paper_table.py prints the seed paper's table on the fetched labelme VOC photos (a smoke
run of the script: every row it asks for is computed through ``gigjax evaluate`` and printed beside the
published GIG-CAM(F) figures). One cheap row keeps it quick; every method's own evaluation is tested
in tests/evaluation and tests/commands/test_evaluate.py."""

import importlib.util
import json
import os

import pytest

ROOT = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)


def load_script():
    spec = importlib.util.spec_from_file_location("paper_table", os.path.join(ROOT, "benchmarks", "paper_table.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prints_our_rows_beside_the_paper(fixtures_dir, tmp_path, capsys):
    voc = os.path.join(fixtures_dir, "labelme", "voc")
    script = load_script()
    assert script.main(["--dataset", voc, "--quick", "--methods", "gradcam", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines if line.startswith("| ")}
    assert set(rows) == {"Method", "Grad-CAM", "GIG-CAM(F), paper (VOC2012, ResNet50)"}
    assert "82.80 | 62.41 | 22.59 | 31.00" in rows["GIG-CAM(F), paper (VOC2012, ResNet50)"]
    # Our rows carry numbers (not "—"), and they are the summaries the runs wrote.
    for label, name in (("Grad-CAM", "gradcam"),):
        cells = [c.strip() for c in rows[label].strip("| ").split(" | ")]
        summary = json.load(open(tmp_path / name / "summary.json"))["methods"][name]
        for cell, metric in zip(cells[1:5], script.METRICS):
            value = summary[metric]["value"]
            assert cell == script.rows_.fmt(value), (label, metric, cell, value)
        assert cells[1] != "n/a"  # the pointing game is defined on these photos


def test_unknown_method_is_a_clear_error_before_any_work(tmp_path):
    with pytest.raises(SystemExit, match="--methods: no row for gradcm; the rows are gradcam, "):
        load_script().main(["--dataset", str(tmp_path / "absent"), "--methods", "gradcam,gradcm"])
