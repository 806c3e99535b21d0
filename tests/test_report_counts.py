"""The report's count axes tick at whole numbers, and signals that are zero everywhere are named
in a sentence instead of drawn as empty histograms."""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from pipelines.cli import main
from pipelines.report.figures import Signal, _signal_panel

KJV = Path(__file__).parent / "data" / "prose" / "kjv.jsonl.gz"


def test_a_few_documents_give_whole_number_ticks() -> None:
    ax = Figure().subplots()
    _signal_panel(ax, Signal("ratio", [0.1, 0.2], [0.9], {"max_ratio": 0.5}))
    ticks = ax.get_yticks()
    assert len(ticks) > 1 and all(t == int(t) for t in ticks)


def test_signals_zero_on_every_document_are_named_not_plotted(tmp_path, capsys) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: zeros\nsteps:\n  - read: {}\n  - pii: {}\n"
                      "  - gopher_quality: {action: annotate}\n", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["curate", str(recipe), "--input", str(KJV), "--output", str(out)]) == 0
    page = (tmp_path / "run" / "report" / "index.html").read_text(encoding="utf-8")
    assert ("Zero on every sampled document, so not plotted: 02_pii pii_email, 02_pii pii_ip, "
            "02_pii pii_phone, 03_gopher_quality gopher_bullet_lines_ratio,") in page
    assert "signals-02_pii" not in page  # every pii signal is zero: no grid of empty panels
    assert "signals-03_gopher_quality" in page
