"""Shared fixtures: a tiny seed-architecture model on a tiny synthetic dataset.

The tiny model has the seed's layer stack at input 12x12x1, 3 classes, width 0.25
(~3k parameters); it trains to high accuracy in seconds, so pruning curves are real.
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):  # `make test` runs pytest-xdist workers side by side:
    # share the cores out instead of each TF (and the CLI / server processes a test starts)
    # spinning one thread per core; set before TensorFlow is first imported
    _threads = str(max(1, len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_name, _threads)
if "PRUNING_STORE_DIR" not in os.environ:  # tests never write to the user's result store
    import tempfile

    os.environ["PRUNING_STORE_DIR"] = tempfile.mkdtemp(prefix="pruning-test-store-")

from pathlib import Path

import numpy as np
import pytest

from dataclasses import dataclass  # noqa: E402

from tiny_fixtures import (TINY_CLASSES, TINY_SHAPE, TINY_SPLITS, make_tiny_arrays,  # noqa: E402,F401
                           tiny_npz_arrays)


# `make test` hands whole files to its pytest-xdist workers (--dist loadfile
# --no-loadscope-reorder), so module fixtures are built once. Two refinements, here because
# the scheduler reads this conftest:
# - files that share an expensive session fixture go to one worker together (the zoo trains
#   nine models, the browser tests share one server: built once, not once per worker);
# - the slowest files run first, so that no long file is handed out last to keep one worker
#   busy while the other idles.
SAME_WORKER = {"tests/test_zoo.py": "zoo", "tests/test_zoo_cli.py": "zoo",
               "tests/app/test_bring_your_own.py": "zoo",
               **{f"tests/e2e/{f}.py": "e2e" for f in ("test_challenge_browser", "test_browser", "test_traps")}}
SLOW_FIRST = ("e2e/test_challenge_browser.py", "app/test_bring_your_own.py", "test_zoo.py", "test_zoo_cli.py",
              "app/test_hostile_corpus_page.py", "e2e/test_browser.py", "app/test_shrink_page.py",
              "app/test_frontier_page.py", "test_executors.py", "test_bench_smoke.py",
              "app/test_deploy_pages.py", "app/test_retrain_frontier.py", "app/test_sensitivity_retrain.py",
              "test_retrain_kill.py", "app/test_explore.py", "app/test_challenge_pages.py",
              "app/test_runs_shared.py")


def pytest_collection_modifyitems(items: list) -> None:
    here = Path(__file__).parent

    def rank(item) -> int:
        try:
            name = Path(item.fspath).relative_to(here).as_posix()
        except ValueError:
            return len(SLOW_FIRST)
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within a file, and of the other files, stays


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: a plain `pytest` run has none
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, with the files of ``SAME_WORKER`` sharing one work unit."""
    if config.getoption("dist", None) != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFixtureFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = super()._split_scope(nodeid)
            return SAME_WORKER.get(file, file)

    return SharedFixtureFileScheduling(config, log)


@pytest.fixture(autouse=True)
def _freeze_survivors():
    """Collect, then move every object alive before the test to the GC's permanent generation.

    Streamlit's own full collections after each script run are off (its post-run GC in
    .streamlit/config.toml, its Keras reset in ``pruning.ui.runner``), but Python's generational
    collector still runs full collections as tests allocate, over a heap that TensorFlow, Keras,
    pandas and plotly make large (about 0.4 s each on 2 cores). Frozen objects are skipped by
    later collections, so those only scan what the running test made. Nothing a test sees
    changes: refcounting frees as before, and the collection just before the freeze leaves no
    garbage behind to be kept."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def tiny_data():
    """A Dataset with train 600 / val 200 / test 200 synthetic images, stored scaled to [0, 1]
    (so 'auto' input scaling feeds them as they are, and a model fitted on them matches)."""
    from pruning.data import Dataset, to_split

    xtr, ytr = make_tiny_arrays(*TINY_SPLITS["train"])
    xv, yv = make_tiny_arrays(*TINY_SPLITS["val"])
    xt, yt = make_tiny_arrays(*TINY_SPLITS["test"])
    xtr, xv, xt = (x / np.float32(255) for x in (xtr, xv, xt))
    return Dataset("tiny", TINY_CLASSES, val=to_split(xv, yv, "val", 3),
                   train=to_split(xtr, ytr, "train", 3), test=to_split(xt, yt, "test", 3))


def build_tiny():
    from pruning.models import build_model

    return build_model(TINY_SHAPE, TINY_CLASSES, width=0.25)


@pytest.fixture(scope="session")
def tiny_weights_path(tmp_path_factory, tiny_data) -> Path:
    """Legacy .h5 weights of the tiny model trained for a few epochs (seeded)."""
    import keras

    from pruning.export import write_legacy_h5

    keras.utils.set_random_seed(0)
    model = build_tiny()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(tiny_data.train.x, tiny_data.train.y, epochs=8, batch_size=32, verbose=0)
    path = tmp_path_factory.mktemp("tiny") / "tiny.h5"
    write_legacy_h5(model, path)
    return path


@pytest.fixture()
def tiny_model(tiny_weights_path):
    """A fresh tiny model holding the trained weights (each test gets its own)."""
    from pruning.models import load_weights_into

    return load_weights_into(build_tiny(), tiny_weights_path)


@pytest.fixture()
def tiny_workbench(tiny_model, tiny_data):
    from pruning.workbench import Workbench

    return Workbench(tiny_model, tiny_data)


@dataclass(frozen=True)
class TinyFiles:
    """The trained tiny model and its data on disk, as the CLI and uploads take them."""

    keras: Path  # the full model (.keras): the tiny stack is no preset, so it travels along
    start: Path  # its weights as legacy Keras 2 .h5 (a ``--from`` file)
    npz: Path  # ``tiny_data`` as uint8 x_/y_ train, val and test arrays
    val_npz: Path  # its val split only


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory, tiny_weights_path) -> TinyFiles:
    """``TinyFiles`` written once per session (read-only: copy before changing one)."""
    from pruning.export import write_legacy_h5, write_weights
    from pruning.models import load_weights_into

    root = tmp_path_factory.mktemp("tiny-files")
    model = load_weights_into(build_tiny(), tiny_weights_path)
    files = TinyFiles(root / "tiny.keras", root / "start.h5", root / "tiny.npz", root / "tiny-val.npz")
    write_weights(model, files.keras, "keras")
    write_legacy_h5(model, files.start)
    np.savez(files.npz, **tiny_npz_arrays())
    np.savez(files.val_npz, **tiny_npz_arrays(("val",)))
    return files


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """The model zoo (tests/zoo_models.py): nine small Keras classifiers and their data,
    trained and saved once per session."""
    from zoo_models import build_zoo

    return build_zoo(tmp_path_factory.mktemp("zoo"))
