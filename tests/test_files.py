"""Atomic writes: the old file or the new one, never half of one, and nothing left over."""

import os

import pytest

from recsys_lessons._files import write_atomically


def test_a_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "record.json"
    target.write_bytes(b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]
    if hasattr(os, "umask"):
        umask = os.umask(0)
        os.umask(umask)
        assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    target.write_bytes(b"old")

    def refuse(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_new_files_get_the_umask_without_the_umask_being_changed(tmp_path, monkeypatch):
    if not hasattr(os, "umask"):
        pytest.skip("no umask on this system")
    previous = os.umask(0o027)
    try:
        # Setting the umask, even for a moment to read it, would change it for every other
        # thread of the process: the kernel must apply it by itself.
        def must_not_change(mask):
            raise AssertionError("the umask was changed")

        monkeypatch.setattr(os, "umask", must_not_change)
        target = tmp_path / "cache.csv"
        write_atomically(target, b"data")
        assert target.stat().st_mode & 0o777 == 0o640
    finally:
        monkeypatch.undo()
        os.umask(previous)
