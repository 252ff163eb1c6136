"""Student copies: every lesson without its solutions and without outputs.

A teacher hands these out; learners work through the exercises and grade themselves with
`check`, which needs only the installed package, so it works in the copies too.

    python -m recsys_lessons student-copies student/

Cells tagged ``solution`` are removed, every output and execution count is cleared, the
lessons' sentence that points to the solutions is replaced by one that says they were
removed, and the notebooks keep their names. A copy that is already there and differs from a
fresh one (a learner's answers, say) is never replaced without ``--force``. Put the folder
next to ``notebooks/`` (for example ``student/`` in the checkout) so that the copies' relative
links, such as ``../README.md``, still work.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from recsys_lessons._files import write_atomically

SOLUTION_TAG = "solution"
#: The lessons' pointer to their solutions, which a student copy no longer has.
SOLUTIONS_POINTER = re.compile(
    # Whitespace of any kind between the words: rewrapping a paragraph may put a line break
    # anywhere in the sentence.
    r"Solutions\s+are\s+in\s+the\s+collapsed\s+cells\s+below\s+each\s+exercise"
    r"(?:\s+\([^)]*\))?\."
)
STUDENT_NOTE = (
    "This is a student copy: the solutions were removed, and `check` grades your answers."
)


def student_copy(notebook: dict) -> dict:
    """A copy of a notebook (as parsed JSON) without solution cells and without outputs."""
    copy = dict(notebook)
    cells = []
    for cell in notebook["cells"]:
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        cell = dict(cell)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        elif cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            cell["source"] = SOLUTIONS_POINTER.sub(STUDENT_NOTE, source).splitlines(keepends=True)
        cells.append(cell)
    copy["cells"] = cells
    return copy


def write_student_copies(
    notebook_folder: str | Path, output_folder: str | Path, overwrite: bool = False
) -> list[Path]:
    """Write a student copy of every ``*.ipynb`` in `notebook_folder` to `output_folder`.

    Every lesson is read and converted before anything is written, and each copy is written
    to a temporary file that then replaces the target, so the lessons themselves are never
    written to: not when the output folder is the lessons' folder under another name (a
    symbolic link, a mount, a different letter case), and not when a target is a hard link to
    a lesson.

    A file already in `output_folder` under a lesson's name that differs from the fresh copy
    is replaced only with ``overwrite=True``: it may hold a learner's answers. Otherwise
    FileExistsError names those files and nothing is written.
    """
    notebook_folder, output_folder = Path(notebook_folder), Path(output_folder)
    if not notebook_folder.is_dir():
        raise FileNotFoundError(
            f"The lessons' folder {notebook_folder} does not exist or is not a folder. Run this "
            "from the course checkout, or pass the folder that holds the lessons with "
            "--notebooks."
        )
    notebooks = sorted(notebook_folder.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(
            f"No notebooks in {notebook_folder}. Run this from the course checkout, or pass "
            "the folder that holds the lessons."
        )
    if output_folder.exists() and not output_folder.is_dir():
        raise NotADirectoryError(
            f"The output folder {output_folder} is a file; pass a folder, e.g. student/."
        )
    # Comparing resolved paths misses a second name for the same folder (a bind mount, or a
    # case-insensitive file system); asking the file system whether they are one folder does not.
    if output_folder.resolve() == notebook_folder.resolve() or (
        output_folder.is_dir() and output_folder.samefile(notebook_folder)
    ):
        raise ValueError(
            f"The output folder {output_folder} is the lessons' folder {notebook_folder}; "
            "the copies would replace the lessons. Pass another folder, e.g. student/."
        )
    texts = {}
    for path in notebooks:
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
                raise ValueError("no list of cells")
            if not all(isinstance(cell, dict) and "cell_type" in cell
                       for cell in notebook["cells"]):
                raise ValueError("a cell without a cell_type")
        # JSONDecodeError is a ValueError; OSError covers a folder or a broken link named
        # like a lesson.
        except (UnicodeDecodeError, ValueError, OSError) as error:
            raise ValueError(
                f"{path} is not a readable notebook ({error}); restore it with "
                f"`git checkout -- {path.as_posix()}` and run this again. Nothing was written."
            ) from None
        texts[path.name] = json.dumps(student_copy(notebook), indent=1, ensure_ascii=False) + "\n"
    # Nothing can replace a folder or another non-file under a lesson's name, not even
    # --force: refusing first keeps the copies from being written only in part.
    blocked = [name for name in texts if (output_folder / name).exists()
               and not (output_folder / name).is_file()]
    if blocked:
        raise FileExistsError(
            f"{output_folder} holds something other than a file under the name(s) "
            f"{', '.join(blocked)}; move it away and run this again. Nothing was written."
        )
    if not overwrite:
        changed = [name for name, text in texts.items()
                   if _differs(output_folder / name, text.encode("utf-8"))]
        if changed:
            raise FileExistsError(
                f"{output_folder} already holds {len(changed)} lesson(s) that differ from a "
                f"fresh student copy (a learner's answers, or a lesson changed since): "
                f"{', '.join(changed)}. "
                "Nothing was written. Pass another folder, or add --force (overwrite=True) "
                "to replace them."
            )
    output_folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts.items():
        target = output_folder / name
        # Renaming a new file over the target replaces a hard link to a lesson instead of
        # writing through it.
        write_atomically(target, text.encode("utf-8"))
        written.append(target)
    return written


def _differs(target: Path, content: bytes) -> bool:
    """Whether `target` exists and holds something other than `content`."""
    if not target.exists() and not target.is_symlink():
        return False
    try:
        return target.read_bytes() != content
    except OSError:  # A broken link under a lesson's name: not ours to replace unasked.
        return True
