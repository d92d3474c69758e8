"""The CLI as a whole: the command registry, exit codes, ``python -m pruning``.

Each command's own behaviour is in ``tests/test_cli_<command>.py``.
"""

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import run

from pruning.cli import COMMANDS, build_parser, main


def test_every_registered_command_is_a_subcommand_in_registry_order():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == [c.NAME for c in COMMANDS]
    names = [c.NAME for c in COMMANDS]
    assert len(set(names)) == len(names)
    # the command names README and the issues promise to scripts (a contract)
    assert {"info", "inspect", "sweep", "sensitivity", "prune", "retrain", "train", "structured",
            "score"} <= set(names)
    for command in COMMANDS:
        assert callable(command.run) and callable(command.add_parser)


@pytest.mark.parametrize("argv, message", [
    (["prune", "--method", "global", "--sparsity", "50", "--out", "x.onnx"], "cannot tell the format"),
    (["prune", "--method", "global", "--sparsity", "50", "--out", "x.h5", "--format", "keras"], "needs a name ending in .keras"),
    (["sweep", "--method", "global", "--sparsity", "0:200:50"], "percent in 0..100"),
    (["inspect", "missing.h5"], "no such file"),
    (["sensitivity", "--layers", "conv9", "--val-limit", "50"], "unknown layer(s) ['conv9']; choose from"),
    (["info", "--model", "missing.h5"], "no such file"),
    (["info", "--data", "nowhere.npz"], "no such file"),
])
def test_bad_values_exit_1_with_a_message(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == "" and message in err and "Traceback" not in err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["sweep", "--method", "random"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["prune", "--method", "global", "--sparsity", "150", "--out", "x.h5"])
    assert e.value.code == 2


def test_python_m_pruning_entry_point(tmp_path):
    npz = tmp_path / "val.npz"
    from pruning.data import load_fashion_mnist
    val = load_fashion_mnist().val
    np.savez(npz, x_val=val.x[:200], y_val=val.y[:200])
    out = subprocess.run([sys.executable, "-m", "pruning", "sweep", "--method", "layerwise",
                          "--sparsity", "50", "--data", str(npz), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "oneDNN" not in out.stderr and "absl" not in out.stderr  # TensorFlow's start-up lines muted
    res = json.loads(out.stdout)
    assert len(res["points"]) == 1 and res["points"][0]["target"] == 0.5
