"""``pruning`` loads lazily: the NumPy-only modules import without TensorFlow."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(code: str) -> set[str]:
    """Top-level module names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", ["masks", "frontier", "plots", "schedule", "units", "rows", "labels",
                                    "atomic"])
def test_numpy_only_modules_do_not_import_tensorflow(module):
    loaded = _loaded_after(f"import pruning.{module}")
    assert "tensorflow" not in loaded and "keras" not in loaded, module


def test_package_import_is_lazy_and_names_resolve():
    loaded = _loaded_after("import pruning\nfrom pruning import DEFAULT_FLOOR, keep_masks")
    assert "tensorflow" not in loaded
    loaded = _loaded_after("import pruning\npruning.Evaluator")
    assert "tensorflow" in loaded


def test_every_public_name_resolves_to_its_submodule_object():
    import importlib

    import pruning

    for name in pruning.__all__:
        value = getattr(pruning, name)
        module = importlib.import_module(f"pruning.{pruning._EXPORTS[name]}")
        assert value is getattr(module, name), name
    for module in ("retrain", "sweep"):  # the modules, not their functions of the same name
        assert getattr(pruning, module).__name__ == f"pruning.{module}"
    with pytest.raises(AttributeError):
        pruning.no_such_name  # noqa: B018
