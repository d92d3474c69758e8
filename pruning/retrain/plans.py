"""The four retraining methods, each a plan of phases over one pruning schedule
(``pruning.schedule``): freeze = stages, masked = constant, gradual = polynomial, imp = rounds.

Every method trains a clone of the given model (the caller's model is never touched); see
``pruning.retrain`` for progress rows, checkpoints and the sparsity guarantee.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np

from ..data import Dataset
from ..masks import METHODS, check_choice, check_sparsity
from ..schedule import ConstantSchedule, PolynomialSchedule, PruningSchedule, RoundsSchedule, StagesSchedule
from .loop import Loop, Phase, Progress, Request
from .options import RetrainError, RetrainResult, Training


def _at_start(schedule: PruningSchedule, phase: int, act: Callable[[float], None]) -> Callable[[], None]:
    """A phase's ``prepare``: act on the level ``schedule`` sets when phase ``phase`` starts."""
    def prepare() -> None:
        level = schedule.prune(phase, 0)
        if level is not None:
            act(level)
    return prepare


def default_groups(model: keras.Model) -> list[tuple[str, ...]]:
    """Freeze groups: the largest weighted layer, then every other one but the classifier.

    For the seed's stack: ``[("dense",), ("conv2d", "conv2d_1", "conv2d_2", "conv2d_3")]``.
    """
    weighted = [layer for layer in model.layers if layer.weights]
    if len(weighted) < 2:
        raise RetrainError("freeze needs at least two weighted layers (one to freeze, one to retrain)")
    body = weighted[:-1]
    big = max(body, key=lambda layer: sum(int(np.prod(v.shape)) for v in layer.weights))
    rest = tuple(layer.name for layer in body if layer is not big)
    return [(big.name,)] + ([rest] if rest else [])


def freeze_retrain(model: keras.Model, data: Dataset, sparsity: float,
                   groups: Sequence[Sequence[str]] | None = None,
                   group_sparsity: Sequence[float] | None = None, scope: str = "all",
                   training: Training = Training(), progress: Progress | None = None,
                   checkpoint_dir: str | Path | None = None,
                   teacher: keras.Model | None = None) -> RetrainResult:
    """Seed method 3: prune a layer group by a global threshold, freeze it, retrain the rest.

    Stage k prunes group k (one threshold over the group's arrays), marks its layers
    non-trainable, so their values (and zeros) stay bit-identical, and retrains the layers
    not yet frozen; sparsity steps up stage by stage.

    Args:
        sparsity: overall target (fraction of the ``scope``'s entries).
        groups: layer names per stage (default ``default_groups``: Dense(512), then the convs).
        group_sparsity: per-stage fraction pruned in its group (default: the same fraction
            p for every group, chosen so that the whole model reaches ``sparsity``).

    Raises:
        RetrainError: the groups are too small to reach ``sparsity`` or name unknown layers.
    """
    target = check_sparsity(sparsity)
    groups = [tuple(g) for g in (groups or default_groups(model))]
    names = {layer.name for layer in model.layers}
    unknown = sorted({n for g in groups for n in g} - names)
    if unknown:
        raise RetrainError(f"unknown layers in groups: {unknown}; the model has {sorted(names)}")
    opts = {"groups": groups, "group_sparsity": list(group_sparsity or [])}
    loop = Loop(Request("freeze", target, scope, training, opts), model, data, progress,
                checkpoint_dir, teacher)
    st = loop.state
    owner = [n.split("/")[0] for n in st.base.names]
    member = [[o in g and p for o, p in zip(owner, st.prunable)] for g in groups]
    sizes = [sum(a.size for a, m in zip(st.base.arrays, mem) if m) for mem in member]
    n_all = sum(st.in_scope_sizes())
    if group_sparsity is None:
        p = target * n_all / max(sum(sizes), 1)
        if p > 1:
            raise RetrainError(f"the groups hold {sum(sizes) / n_all:.1%} of the weights, so "
                               f"freeze can reach at most that; target {target:.1%}. Add layers "
                               "to the groups or lower the target")
        fractions = [p] * len(groups)
    else:
        if len(group_sparsity) != len(groups):
            raise RetrainError(f"{len(group_sparsity)} group sparsities for {len(groups)} groups")
        fractions = [check_sparsity(s) for s in group_sparsity]
        target = sum(f * s for f, s in zip(fractions, sizes)) / n_all
    stages = StagesSchedule.of(fractions)

    def stage(k: int) -> Callable[[], None]:
        return _at_start(stages, k, lambda level: st.prune_to(level, "global", member[k]))

    loop.run([Phase(f"stage {k + 1}", training.epochs, stage(k),
                    frozen=tuple(n for g in groups[:k + 1] for n in g))
              for k in range(len(groups))])
    return loop.result(target, tolerance=st.rule_tolerance(len(groups)))


def masked_retrain(model: keras.Model, data: Dataset, sparsity: float | None = None,
                   method: str = "global", scope: str = "all", training: Training = Training(),
                   progress: Progress | None = None,
                   checkpoint_dir: str | Path | None = None,
                   teacher: keras.Model | None = None) -> RetrainResult:
    """Seed method 4: retrain every weight while the zeros of a pruned model stay zero.

    Masks are ``w != 0`` of the given (pruned) weights; with ``sparsity`` set, the weights
    are first magnitude-pruned (``method``, one-shot) up to that level, so a dense model
    gives method 1 or 2 followed by masked retraining.
    """
    check_choice(method, METHODS, "method")
    start_zero = None if sparsity is None else check_sparsity(sparsity)
    loop = Loop(Request("masked", 0.0, scope, training, {"sparsity": sparsity, "method": method}),
                model, data, progress, checkpoint_dir, teacher)
    st = loop.state
    if not loop.resumed:  # before the loop: the masks decide the target
        st.set_masks([a != 0 if p else None for a, p in zip(st.arrays(), st.prunable)])
        if start_zero is not None:
            _at_start(ConstantSchedule(start_zero), 0, lambda level: st.prune_to(level, method))()
    held = st.masked_fraction()
    target = held if start_zero is None else start_zero
    loop.run([Phase("masked", training.epochs)])
    return loop.result(target, tolerance=max(0.0, target - held))


def gradual_prune(model: keras.Model, data: Dataset, sparsity: float, initial: float = 0.0,
                  begin_step: int = 0, end_step: int | None = None, frequency: int | None = None,
                  method: str = "global", scope: str = "all", training: Training = Training(),
                  progress: Progress | None = None,
                  checkpoint_dir: str | Path | None = None,
                  teacher: keras.Model | None = None) -> RetrainResult:
    """Gradual magnitude pruning: masks follow ``PolynomialSchedule`` during training.

    On each pruning step the current weights are magnitude-pruned (``method`` 'global' or
    'layerwise', via ``pruning.masks``) to the schedule's level, never un-pruning; masks
    hold on every update in between. Only epochs that end at the final sparsity compete
    for the best-val checkpoint (and count towards early stopping).

    Args:
        end_step: step reaching ``sparsity`` (default: 2/3 of all training steps).
        frequency: steps between mask updates (default: a quarter epoch).
    """
    check_choice(method, METHODS, "method")
    target = check_sparsity(sparsity)
    spe = -(-len(data.train) // training.batch_size) if data.train is not None else 1
    total = training.epochs * spe
    end = max(begin_step, (2 * total) // 3) if end_step is None else end_step
    sched = PolynomialSchedule(final=target, end_step=end, initial=initial, begin_step=begin_step,
                               frequency=max(1, spe // 4) if frequency is None else frequency)
    if sched.end_step > total:
        raise RetrainError(f"end_step {sched.end_step} is after the last training step {total} "
                           f"({training.epochs} epochs x {spe} steps); the target would never be reached")
    opts = {"schedule": asdict(sched), "method": method}
    loop = Loop(Request("gradual", target, scope, training, opts), model, data, progress,
                checkpoint_dir, teacher)
    st = loop.state

    def on_step(step: int) -> None:
        level = sched.prune(0, step)
        if level is not None:
            st.prune_to(level, method)

    def eligible(epoch: int) -> bool:
        return int(st.wrapper.optimizer.iterations.numpy()) >= sched.end_step

    loop.run([Phase("gradual", training.epochs, on_step=on_step, eligible=eligible)])
    return loop.result(target, tolerance=st.rule_tolerance(method=method))


def iterative_prune(model: keras.Model, data: Dataset, sparsity: float, rounds: int = 3,
                    rewind_epoch: int | None = None, final_epochs: int | None = None,
                    method: str = "global", scope: str = "all", training: Training = Training(),
                    progress: Progress | None = None,
                    checkpoint_dir: str | Path | None = None,
                    teacher: keras.Model | None = None) -> RetrainResult:
    """Iterative magnitude pruning with rewinding (lottery tickets).

    Each of ``rounds`` rounds prunes the same fraction p of the remaining weights
    (``1 - (1 - p) ** rounds = sparsity``) by magnitude of the trained weights, rewinds the
    survivors to the rewind point, and retrains with the mask held.

    Args:
        rewind_epoch: None rewinds to the given (dense) weights; an int first trains the
            dense model ``training.epochs`` epochs and rewinds to its weights after that
            many epochs (0 = the given weights, "late rewinding" for > 0).
        final_epochs: epochs of the last retraining (default ``training.epochs``).
    """
    check_choice(method, METHODS, "method")
    target = check_sparsity(sparsity)
    if rounds < 1:
        raise RetrainError(f"rounds must be >= 1, got {rounds}")
    if rewind_epoch is not None and not 0 <= rewind_epoch <= training.epochs:
        raise RetrainError(f"rewind_epoch must be in 0..{training.epochs} (the dense phase), "
                           f"got {rewind_epoch}")
    opts = {"rounds": rounds, "rewind_epoch": rewind_epoch, "final_epochs": final_epochs,
            "method": method}
    loop = Loop(Request("imp", target, scope, training, opts), model, data, progress,
                checkpoint_dir, teacher)
    st = loop.state
    dense = 0 if rewind_epoch is None else 1  # phases before the first round
    schedule = RoundsSchedule(target, rounds, first_phase=dense)

    def prune_and_rewind(level: float) -> None:
        st.prune_to(level, method)
        st.rewind_survivors()

    phases = []
    if rewind_epoch is None:
        if not loop.resumed:
            st.keep_rewind_point()
    else:
        def snapshot(epoch: int) -> None:
            if epoch == rewind_epoch:
                st.keep_rewind_point()

        phases.append(Phase("dense", training.epochs,
                            prepare=st.keep_rewind_point if rewind_epoch == 0 else None,
                            eligible=lambda epoch: epoch >= rewind_epoch, after_epoch=snapshot))
    for r in range(rounds):
        epochs = training.epochs if r < rounds - 1 else (
            training.epochs if final_epochs is None else final_epochs)
        phases.append(Phase(f"round {r + 1}", epochs, _at_start(schedule, dense + r, prune_and_rewind)))
    loop.run(phases)
    return loop.result(target, tolerance=st.rule_tolerance(method=method))
