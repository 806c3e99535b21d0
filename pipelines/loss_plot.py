"""Plots of a training log (JSON lines): ``loss.png`` of pretraining, ``dpo.png`` of DPO."""

from __future__ import annotations

from pathlib import Path

from scratchlm.model.train_log import read_records

DPO_PANELS = [
    ("loss", "DPO loss"),
    ("reward_accuracy", "reward accuracy"),
    ("reward_margin", "reward margin"),
]


def plot_terms(log: Path, png: Path, panels: list[tuple[str, str]], title: str) -> Path:
    """A panel per (key, axis label): training ``key`` per logged step, ``val_key`` per eval,
    and a mixture's ``val_key_by_source`` as one curve per source."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_records(Path(log))
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(7, 4 if len(panels) == 1 else 2.6 * len(panels)),
        dpi=110,
        sharex=True,
        squeeze=False,
    )
    for ax, (key, label) in zip(axes[:, 0], panels):
        train = [(r["step"], r[key]) for r in records if key in r]
        val = [(r["step"], r[f"val_{key}"]) for r in records if f"val_{key}" in r]
        name = key.replace("_", " ")
        if train:
            ax.plot(*zip(*train), label=f"train {name}", linewidth=1.2)
        if val:
            ax.plot(*zip(*val), "o-", label=f"validation {name}", markersize=3)
        by_source = [(r["step"], r[f"val_{key}_by_source"]) for r in records
                     if f"val_{key}_by_source" in r]
        for source in dict.fromkeys(s for _, losses in by_source for s in losses):
            points = [(step, losses[source]) for step, losses in by_source if source in losses]
            ax.plot(*zip(*points), "s--", label=f"validation {name}: {source}", markersize=3)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[-1, 0].set_xlabel("step")
    axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)
    return png


def plot_loss(log: Path, png: Path, title: str = "training") -> Path:
    return plot_terms(log, png, [("loss", "cross-entropy (nats/token)")], title)
