"""``python -m pruning retrain``: argument checks that answer before any training.

Training through the CLI, the result store and resuming are covered by
``test_retrain_store.py``, ``test_retrain_kill.py`` and ``test_verified_export.py``.
"""

import pytest
from cli_helpers import run

from pruning.cli import main


@pytest.mark.parametrize("out, message", [
    ("w.onnx", "cannot tell the format"),
    ("w.weights.h5", "format h5 needs a name ending in .h5"),
])
def test_an_unusable_out_name_is_refused_before_training(capsys, tmp_path, tiny_files, out, message):
    argv = ["retrain", "--method", "masked", "--sparsity", "50", "--model", str(tiny_files.keras),
            "--data", str(tiny_files.npz), "--no-store", "--out", str(tmp_path / out)]
    if out.endswith(".weights.h5"):
        argv += ["--format", "h5"]
    code, stdout, err = run(capsys, *argv)
    assert code == 1 and stdout == "" and message in err
    assert list(tmp_path.iterdir()) == []


def test_a_missing_start_file_is_named(capsys, tmp_path, tiny_files):
    code, _, err = run(capsys, "retrain", "--method", "masked", "--model", str(tiny_files.keras),
                       "--from", str(tmp_path / "nope.h5"), "--data", str(tiny_files.npz), "--no-store")
    assert code == 1 and "nope.h5: no such file" in err


def test_sparsity_is_a_percent(capsys):
    with pytest.raises(SystemExit) as e:
        main(["retrain", "--method", "masked", "--sparsity", "0.5x"])
    assert e.value.code == 2 and "expected a percent like 90" in capsys.readouterr().err
