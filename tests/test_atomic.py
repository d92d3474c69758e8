"""``pruning.atomic.atomic_write``: the target is whole or untouched, no temp file is left."""

import os
import stat

import pytest

from pruning.atomic import atomic_write


def test_a_finished_write_replaces_the_target(tmp_path):
    target = tmp_path / "out" / "model.weights.h5"
    seen = []

    def write(tmp):
        seen.append(tmp)
        tmp.write_bytes(b"new")

    assert atomic_write(target, write, suffix=".weights.h5", mode=0o644) == target
    assert target.read_bytes() == b"new" and list(target.parent.iterdir()) == [target]
    assert seen[0].parent == target.parent and seen[0].name.endswith(".weights.h5")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "results.npz"
    target.write_bytes(b"old")

    def half(tmp):
        tmp.write_bytes(b"PK half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half)
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]
