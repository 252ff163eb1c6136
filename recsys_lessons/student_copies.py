"""Student copies: every lesson without its solutions and without outputs.

A teacher hands these out; learners work through the exercises and grade themselves with
`check`, which needs only the installed package, so it works in the copies too.

    python -m recsys_lessons student-copies student/

Cells tagged ``solution`` are removed, every output and execution count is cleared, the
lessons' sentence that points to the solutions is replaced by one that says they were
removed, and the notebooks keep their names. Put the folder next to ``notebooks/`` (for
example ``student/`` in the checkout) so that the copies' relative links, such as
``../README.md``, still work.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SOLUTION_TAG = "solution"
#: The lessons' pointer to their solutions, which a student copy no longer has.
SOLUTIONS_POINTER = re.compile(
    r"Solutions are in the collapsed cells below each exercise(?: \([^)]*\))?\."
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


def write_student_copies(notebook_folder: str | Path, output_folder: str | Path) -> list[Path]:
    """Write a student copy of every ``*.ipynb`` in `notebook_folder` to `output_folder`."""
    notebook_folder, output_folder = Path(notebook_folder), Path(output_folder)
    notebooks = sorted(notebook_folder.glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(
            f"No notebooks in {notebook_folder}. Run this from the course checkout, or pass "
            "the folder that holds the lessons."
        )
    if output_folder.resolve() == notebook_folder.resolve():
        raise ValueError("The output folder must differ from the lessons' folder.")
    output_folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        target = output_folder / path.name
        text = json.dumps(student_copy(notebook), indent=1, ensure_ascii=False) + "\n"
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
