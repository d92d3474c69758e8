"""Display names: methods, scopes and retraining recipes (pure; shared by plots, UI and reports)."""

from __future__ import annotations

METHOD_LABELS = {
    "global": "Global magnitude (M1)",
    "layerwise": "Layer-wise magnitude (M2)",
    "freeze": "Freeze-layer retraining (M3)",
    "masked": "Masked-gradient retraining (M4)",
    "gradual": "Gradual pruning (Zhu & Gupta)",
    "imp": "Iterative magnitude pruning (IMP)",
    "nm": "N:M semi-structured, groups of 4 (2:4 at 50 %)",
    "nm8": "N:M semi-structured, groups of 8 (4:8 at 50 %)",
    "block": "Block magnitude (1x4 blocks)",
}
SCOPE_LABELS = {"all": "All parameters", "kernels": "Kernels only"}


def method_label(method: str) -> str:
    """Display name of a method ('global' -> 'Global magnitude (M1)')."""
    return METHOD_LABELS.get(method, method)


def recipe_label(options: dict) -> str:
    """Short text naming the training options a retraining run changed from their defaults
    (``Training.lr_schedule``, ``adjust_dropout``, ``distill``); empty for the default recipe."""
    parts = []
    if options.get("lr_schedule", "constant") != "constant":
        parts.append(f"{options['lr_schedule']} LR")
    if options.get("adjust_dropout"):
        parts.append("dropout adjusted")
    if options.get("distill"):
        parts.append(f"distilled {float(options['distill']):g}")
    return ", ".join(parts)


def run_label(method: str, recipe: object = "") -> str:
    """A method's display name, with its training recipe when there is one."""
    name = method_label(method)
    return f"{name} ({recipe})" if isinstance(recipe, str) and recipe else name


def budget_label(epochs: int, n_train: int) -> str:
    """A run's training budget in words, e.g. '2 epochs, 5,000 images'."""
    epochs, n_train = int(epochs or 0), int(n_train or 0)
    return f"{epochs} epoch{'s' * (epochs != 1)}, {n_train:,} images"


def budgets_in_recipes(rows: list[dict]) -> list[dict]:
    """Runs of one method and recipe trained with different budgets get the budget in their
    recipe (so in their label and trace): two budgets never share one label."""
    budgets: dict[tuple, set] = {}
    for r in rows:
        budgets.setdefault((r["method"], r["recipe"]), set()).add(r.get("budget"))
    for r in rows:
        if len(budgets[(r["method"], r["recipe"])]) > 1 and r.get("budget"):
            r["recipe"] = ", ".join(p for p in (r["recipe"], r["budget"]) if p)
    return rows
