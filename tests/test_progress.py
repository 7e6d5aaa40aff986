"""gigjax/progress.py: the one progress bar of `gigjax evaluate` and `gigjax explain`: drawn on a
terminal with the method and images/s, silent otherwise."""

from __future__ import annotations

import io

from gigjax.progress import ProgressBar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(stream, enabled=True):
    bar = ProgressBar(6, done=2, enabled=enabled, stream=stream)
    for method in bar.over(["gradcam", "gigcam"]):
        bar.running(method)
        bar.advance(2)
    return stream.getvalue()


def test_drawn_on_a_terminal_with_method_count_and_rate():
    text = _run(_Terminal())
    assert "gigcam" in text and "6/6" in text and "img/s" in text


def test_silent_when_not_a_terminal_or_disabled():
    assert _run(io.StringIO()) == ""
    assert _run(_Terminal(), enabled=False) == ""


def test_gigjax_explain_shows_the_bar_on_a_terminal_and_keeps_stdout(monkeypatch, tmp_path, capsys):
    from gigjax.cli import main

    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["explain", "--out", str(tmp_path), "--method", "gradcam"]) == 0
    assert "gradcam" in terminal.getvalue() and "1/1" in terminal.getvalue() and "img/s" in terminal.getvalue()
    assert "wrote" in capsys.readouterr().out
