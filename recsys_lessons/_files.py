"""Writing a file so that nobody ever reads half of it.

The data cache, the student copies and Spark's log configuration are all written this way.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def create_new_file(folder: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """Create a new, uniquely named file in `folder`; return its open descriptor and path.

    The file gets the permissions any new file of this process gets (0666 less the umask),
    which the kernel applies itself: reading the umask would mean setting it for a moment,
    and every other thread of the process would create its files with that value meanwhile.
    """
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"Could not find a free temporary name in {folder}.")


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a new, uniquely named file beside `path`, then rename it over `path`.

    A reader sees the old file or the new one, never half of one; a hard link at `path` is
    replaced rather than written through; two writers at once each finish whole; and a failed
    write leaves no temporary file behind.
    """
    handle, temporary = create_new_file(path.parent, f".{path.name}.", ".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            # On the disk before the rename: after a power cut, some file systems would
            # otherwise show the new name with no content.
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
