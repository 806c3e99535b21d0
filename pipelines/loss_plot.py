"""Plots of a training log (JSON lines): ``loss.png`` of pretraining, ``dpo.png`` of DPO."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scratchlm.model.train_log import Evaluation, Step, read_log, read_records

DPO_PLOT = "dpo.png"  # beside a DPO run's log
DPO_PANELS = [
    ("loss", "DPO loss"),
    ("reward_accuracy", "reward accuracy"),
    ("reward_margin", "reward margin"),
]


@dataclass
class Panel:
    """One quantity's curves: training points, validation points, validation points per source."""

    name: str
    label: str
    train: list[tuple[int, float]] = field(default_factory=list)
    val: list[tuple[int, float]] = field(default_factory=list)
    by_source: list[tuple[int, dict[str, float]]] = field(default_factory=list)


def plot_terms(log: Path, png: Path, panels: list[tuple[str, str]], title: str) -> Path:
    """A fine-tuning log's panel per (key, axis label): training ``key`` per logged step,
    ``val_key`` per eval, and ``val_key_by_source`` as one curve per source."""
    records = read_records(Path(log))
    return _draw(
        [
            Panel(
                key.replace("_", " "),
                label,
                [(r["step"], r[key]) for r in records if key in r],
                [(r["step"], r[f"val_{key}"]) for r in records if f"val_{key}" in r],
                [
                    (r["step"], r[f"val_{key}_by_source"])
                    for r in records
                    if f"val_{key}_by_source" in r
                ],
            )
            for key, label in panels
        ],
        png,
        title,
    )


def plot_loss(log: Path, png: Path, title: str = "training") -> Path:
    """A pretraining log's loss: per step record, per evaluation, and a mixture's per source."""
    records = read_log(Path(log))
    evals = [r for r in records if isinstance(r, Evaluation)]
    return _draw(
        [
            Panel(
                "loss",
                "cross-entropy (nats/token)",
                [(r.step, r.loss) for r in records if isinstance(r, Step)],
                [(r.step, r.val_loss) for r in evals],
                [(r.step, r.val_loss_by_source) for r in evals if r.val_loss_by_source],
            )
        ],
        png,
        title,
    )


def _draw(panels: list[Panel], png: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(7, 4 if len(panels) == 1 else 2.6 * len(panels)),
        dpi=110,
        sharex=True,
        squeeze=False,
    )
    for ax, panel in zip(axes[:, 0], panels):
        if panel.train:
            ax.plot(*zip(*panel.train), label=f"train {panel.name}", linewidth=1.2)
        if panel.val:
            ax.plot(*zip(*panel.val), "o-", label=f"validation {panel.name}", markersize=3)
        for source in dict.fromkeys(s for _, losses in panel.by_source for s in losses):
            points = [
                (step, losses[source]) for step, losses in panel.by_source if source in losses
            ]
            ax.plot(*zip(*points), "s--", label=f"validation {panel.name}: {source}", markersize=3)
        ax.set_ylabel(panel.label)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[-1, 0].set_xlabel("step")
    axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
    return png
