"""Fine-tune a structurally pruned model with the retraining machinery.

The smaller model has no masks to hold, so this is masked retraining with the masks the
weights imply (``w != 0``, i.e. everything trainable unless a weight is exactly zero),
which brings the retraining options (optimizer, LR schedule, patience, distillation from
the dense model), the best-val-epoch selection and checkpoint/resume along unchanged.
"""

from __future__ import annotations

from pathlib import Path

import keras

from ..data import Dataset
from ..retrain import RetrainResult, Training, retrain
from ..sweep import Progress


def finetune(small: keras.Model, data: Dataset, training: Training = Training(),
             teacher: keras.Model | None = None, progress: Progress | None = None,
             checkpoint_dir: str | Path | None = None) -> tuple[keras.Model, RetrainResult]:
    """Train ``small`` (not modified) and return a copy holding the best-val weights.

    Args:
        teacher: the dense model for ``training.distill`` (default: ``small`` itself,
            which makes distillation pointless; pass the dense model).
        checkpoint_dir: resume from / checkpoint into this directory.
    """
    res = retrain(small, data, "masked", None, training, progress=progress,
                  checkpoint_dir=checkpoint_dir, teacher=teacher)
    tuned = keras.models.clone_model(small)
    tuned.set_weights(list(res.arrays))
    return tuned, res
