"""What the CLI test modules share: a small slice of the bundled data and a runner."""

from __future__ import annotations

from pruning.cli import main

SLICE = ["--val-limit", "300", "--test-limit", "300"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``python -m pruning *argv`` in-process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err
