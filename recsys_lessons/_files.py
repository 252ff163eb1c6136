"""Writing a file so that nobody ever reads half of it.

The data cache, the student copies and Spark's log configuration are all written this way.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def readable_by_everyone(path: str | Path) -> None:
    """Give a temporary file the permissions a normal new file gets (mkstemp makes it 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a new, uniquely named file beside `path`, then rename it over `path`.

    A reader sees the old file or the new one, never half of one; a hard link at `path` is
    replaced rather than written through; two writers at once each finish whole; and a failed
    write leaves no temporary file behind.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        readable_by_everyone(temporary)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
