"""Streamlit glue for the dashboard: the only package under ``pruning/`` that imports streamlit.

- ``shell``: the page frame, the shared sidebar and what it selected;
- ``session``: this session's uploads and ``Bench`` (its model + ``Workbench``);
- ``caches``: cached evaluations, verified downloads, stored sweeps, the result hand-off;
- ``jobs``: heavy work (server-wide slots, one-shot and adaptive sweeps);
- ``retrain``: retraining runs, their checkpoints and finished runs;
- ``format``: percent/byte formatting and user-facing errors;
- ``controls``: the method / sparsity widgets Explore and "Why it works" share (debounced);
- ``shared``: the process-wide single-flight cache identical requests share;
- ``display``: the stale-download guard, the projector option, chart sizing;
- ``structured``: the Shrink page's structured pruning runs, downloads, deployment report;
- ``teaching``: the weights, cached predictions and views of "Why it works";
- ``challenge``: challenge mode (the shared hub, who this session is, the live leaderboard);
- ``runner``: keeps Keras' state across script runs (Streamlit resets it after each by default).

Classroom rules: ``st.cache_resource`` holds read-only things only (the bundled dataset,
the demo's dense ``Baseline``); each session has its own Keras model and lock; per-point
results go through ``shared.RESULTS`` (process-wide, single flight) and finished sweeps
through ``st.cache_data``, both keyed by content hashes; heavy work takes a slot of
``HEAVY``; retraining runs are server threads (``background``) keyed by their settings.
Pages use the names below (``from pruning import ui``; ``ui.sidebar()``...).
"""

from .._tf import import_tensorflow_quietly

import_tensorflow_quietly()

from .runner import keep_keras_state  # noqa: E402

keep_keras_state()

from ..labels import METHOD_LABELS, SCOPE_LABELS, method_label, run_label  # noqa: E402
from .caches import (ESTIMATE_N, EVAL, FORMAT_LABELS, MIME, adaptive_key,  # noqa: E402
                     cached_result, dense_h5_size, dense_scores, export_for_download,
                     export_pruned, full_figures_default, h5_bytes, h5_bytes_or_stop,
                     neighbour_estimate, peek_h5, peek_sizes, peek_test, peek_val,
                     point_estimate, point_h5, point_sizes, point_test, point_val, result_store,
                     store_result, stored_sweep, sweep_key)
from .display import PROJECTOR_KEY, chart, page_style, projector, projector_layout  # noqa: E402
from .shared import RESULTS, SharedCache  # noqa: E402
from .weights_view import array_frame, show_weights  # noqa: E402
from .warm import warm_demo  # noqa: E402
from .format import fmt_bytes, fmt_pct, fraction, show_error  # noqa: E402
from ..units import sweep_grid  # noqa: E402
from .jobs import (HEAVY, Throttle, adaptive_top, heavy_slot, methods_available,  # noqa: E402
                   run_adaptive, run_sweep)
from .background import BackgroundRun, background_run, forget_run  # noqa: E402
from .grid import GridCell, executor_config, grid_cells, run_grid  # noqa: E402
from .retrain import (CHECKPOINT_ROOT, CHECKPOINT_TTL_S, EXPLORE_BUDGET, RUNNING,  # noqa: E402
                      TRAINING_OPTIONS, RetrainEntry, checkpoint_dir, checkpoint_epochs,
                      checkpoint_history, clean_stale_checkpoints, entry_val, explore_methods,
                      finished_entry, interrupted_retrain, nearest_retrained, oneshot_vs_retrained, run_id,
                      start_background_retrain, retrain_entries, retrain_methods,
                      retrained_frame, run_retrain, stored_retrains, training_defaults)
from .run_settings import remember_run, restore_run_settings  # noqa: E402
from .session import (DEMO_DATA, DEMO_DATA_LABEL, DEMO_MODEL, DEMO_MODEL_LABEL, Bench,  # noqa: E402
                      UserData, UserModel, add_user_data, add_user_model, bench, bench_or_stop,
                      bundled_dataset, demo_baseline, digest, env_limit, forget_uploads, limits,
                      scaling_text, user_data, user_models)
from . import challenge  # noqa: E402
from .deploy import (COST_AXES, cost_rows, deployment_section, measure_models, pattern_note,  # noqa: E402
                     render_deployment)
from .shell import Selection, keep_widget_state, require_shell, selection, shell, sidebar  # noqa: E402
from .controls import pruning_controls, settle  # noqa: E402
from .structured import (ALLOCATION_LABELS, H5_LOAD, IMPORTANCE_LABELS, KERAS_LOAD,  # noqa: E402
                         SHRINK_RESULT, Shrunk, dense_copy, deployment_measured,
                         is_heavy, measure_deployment, removed_frame, run_shrink, shrink_result,
                         structure_problem, unpruned_frame)
from .teaching import (ShownWeights, class_count, default_mask_layer, dense_predictions,  # noqa: E402
                       first_filters, flipped_images, keep_choice, layer_mask, magnitude_histogram,
                       shown_weights, val_predictions, what_breaks)

__all__ = [
    # labels (pruning.labels)
    "METHOD_LABELS", "SCOPE_LABELS", "method_label", "run_label",
    # deployment (Explore) and cost axes (Frontier)
    "COST_AXES", "cost_rows", "deployment_section", "measure_models", "pattern_note",
    "render_deployment",
    # shell
    "Selection", "keep_widget_state", "require_shell", "selection", "shell", "sidebar",
    # session
    "DEMO_DATA", "DEMO_DATA_LABEL", "DEMO_MODEL", "DEMO_MODEL_LABEL", "Bench", "UserData",
    "UserModel", "add_user_data", "add_user_model", "bench", "bench_or_stop", "bundled_dataset",
    "demo_baseline", "digest", "env_limit", "forget_uploads", "limits", "scaling_text", "user_data",
    "user_models",
    # caches
    "ESTIMATE_N", "EVAL", "FORMAT_LABELS", "MIME", "adaptive_key", "cached_result",
    "dense_h5_size", "dense_scores", "export_for_download", "export_pruned",
    "full_figures_default", "h5_bytes", "h5_bytes_or_stop", "neighbour_estimate", "peek_h5",
    "peek_sizes", "peek_test", "peek_val", "point_estimate", "point_h5", "point_sizes",
    "point_test", "point_val", "result_store", "store_result", "stored_sweep", "sweep_key",
    # display, shared results
    "PROJECTOR_KEY", "chart", "page_style", "projector", "projector_layout", "RESULTS",
    "SharedCache", "array_frame", "show_weights", "warm_demo",
    # jobs (sweep_grid: pruning.units)
    "HEAVY", "Throttle", "adaptive_top", "heavy_slot", "methods_available", "run_adaptive", "run_sweep",
    "sweep_grid",
    # grid
    "GridCell", "executor_config", "grid_cells", "run_grid",
    # retrain
    "CHECKPOINT_ROOT", "CHECKPOINT_TTL_S", "EXPLORE_BUDGET", "RUNNING", "TRAINING_OPTIONS",
    "RetrainEntry", "checkpoint_dir", "checkpoint_epochs", "checkpoint_history",
    "clean_stale_checkpoints", "entry_val", "explore_methods", "interrupted_retrain",
    "nearest_retrained", "retrain_entries", "retrain_methods", "retrained_frame", "run_retrain",
    "stored_retrains", "training_defaults", "BackgroundRun", "background_run", "forget_run",
    "finished_entry", "oneshot_vs_retrained", "run_id", "start_background_retrain",
    "remember_run", "restore_run_settings",
    # challenge mode (a module: ui.challenge.hub(), ui.challenge.live_board(), …)
    "challenge",
    # format
    "fmt_bytes", "fmt_pct", "fraction", "show_error",
    # controls
    "pruning_controls", "settle",
    # structured (the Shrink page)
    "ALLOCATION_LABELS", "H5_LOAD", "IMPORTANCE_LABELS", "KERAS_LOAD", "SHRINK_RESULT", "Shrunk",
    "dense_copy", "deployment_measured", "is_heavy", "measure_deployment",
    "removed_frame", "run_shrink", "shrink_result", "structure_problem", "unpruned_frame",
    # teaching
    "ShownWeights", "class_count", "default_mask_layer", "dense_predictions", "first_filters",
    "flipped_images", "keep_choice", "layer_mask", "magnitude_histogram", "shown_weights",
    "val_predictions", "what_breaks",
]
