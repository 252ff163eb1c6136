"""Student copies: no solutions, no outputs, and they still run (so they cannot rot)."""

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from recsys_lessons.__main__ import main
from recsys_lessons.student_copies import (
    SOLUTION_TAG,
    SOLUTIONS_POINTER,
    STUDENT_NOTE,
    student_copy,
    write_student_copies,
)

LESSONS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    # The copies sit beside a folder named like the lessons' one, as in a checkout.
    course = tmp_path_factory.mktemp("course")
    (course / "notebooks").mkdir()
    return write_student_copies(LESSONS, course / "student")


def test_every_lesson_is_copied_without_solutions_or_outputs(copies):
    assert [path.name for path in copies] == sorted(p.name for p in LESSONS.glob("*.ipynb"))
    for path in copies:
        original = json.loads((LESSONS / path.name).read_text(encoding="utf-8"))
        copy = json.loads(path.read_text(encoding="utf-8"))
        solutions = [
            cell for cell in original["cells"]
            if SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
        ]
        assert len(copy["cells"]) == len(original["cells"]) - len(solutions)
        for cell in copy["cells"]:
            assert SOLUTION_TAG not in cell.get("metadata", {}).get("tags", [])
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None
        nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))


def test_the_pointer_to_the_solutions_is_replaced(copies):
    # Every lesson that tells the reader where its solutions are says, in the copy, that
    # they were removed; the markdown is otherwise unchanged.
    replaced = 0
    for path in copies:
        original = json.loads((LESSONS / path.name).read_text(encoding="utf-8"))
        copy = json.loads(path.read_text(encoding="utf-8"))
        # Every lesson with exercises says where their solutions are.
        markdown = "".join("".join(cell["source"]) for cell in original["cells"]
                           if cell["cell_type"] == "markdown")
        assert "## Exercises" not in markdown or SOLUTIONS_POINTER.search(markdown), path.name
        originals = [cell for cell in original["cells"]
                     if SOLUTION_TAG not in cell.get("metadata", {}).get("tags", [])]
        for before, after in zip(originals, copy["cells"], strict=True):
            if before["cell_type"] != "markdown":
                continue
            text_before, text_after = "".join(before["source"]), "".join(after["source"])
            assert not SOLUTIONS_POINTER.search(text_after)
            if SOLUTIONS_POINTER.search(text_before):
                replaced += 1
                assert STUDENT_NOTE in text_after
                assert SOLUTIONS_POINTER.sub("", text_before) == text_after.replace(
                    STUDENT_NOTE, "")
            else:
                assert text_after == text_before
    assert replaced == len(copies)


def test_each_lesson_has_at_least_three_graded_exercises_with_solutions():
    for path in sorted(LESSONS.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        solutions = [
            "".join(cell["source"]) for cell in cells
            if SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
        ]
        assert len(solutions) >= 3, path.name
        assert all("check(" in source for source in solutions), path.name
        for cell in cells:
            if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
                # Code and output collapsed in JupyterLab, so a learner reveals them on
                # purpose: a value exercise's "correct (…)" output would give the answer away.
                collapsed = cell["metadata"].get("jupyter", {})
                assert collapsed.get("source_hidden") is True, path.name
                assert collapsed.get("outputs_hidden") is True, path.name


def test_a_student_copy_runs_and_check_reports_unfinished_exercises(copies):
    welcome = next(path for path in copies if path.name.startswith("00_"))
    notebook = nbformat.read(welcome, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   # It runs where a learner's copy lives, not beside the lessons.
                   resources={"metadata": {"path": str(welcome.parent)}}).execute()
    outputs = [
        "".join(output.get("data", {}).get("text/plain", "") or output.get("text", ""))
        for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [o for cell in notebook.cells if cell.cell_type == "code"
                for o in cell.outputs if o.output_type == "error"]
    feedback = [text for text in outputs if "00.sparsity" in text]
    assert feedback and feedback[0].startswith("✗ 00.sparsity")


def test_command_line(tmp_path, capsys, monkeypatch):
    # Run from the repository root as the README says, the lessons come from notebooks/.
    monkeypatch.chdir(LESSONS.parent)
    assert main(["student-copies", str(tmp_path / "student")]) == 0
    lessons = sorted(path.name for path in LESSONS.glob("*.ipynb"))
    assert f"Wrote {len(lessons)} student copies" in capsys.readouterr().out
    assert sorted(path.name for path in (tmp_path / "student").iterdir()) == lessons
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="No notebooks"):
        write_student_copies(empty, tmp_path / "out")
    with pytest.raises(ValueError, match="would replace the lessons"):
        write_student_copies(LESSONS, LESSONS)


def test_command_line_mistakes_are_usage_errors(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    for arguments, message in [
        ([str(tmp_path / "out"), "--notebooks", str(tmp_path / "nowhere")], "does not exist"),
        ([str(a_file), "--notebooks", str(LESSONS)], "is a file; pass a folder"),
        ([str(LESSONS), "--notebooks", str(LESSONS)], "would replace the lessons"),
    ]:
        with pytest.raises(SystemExit) as exit_status:
            main(["student-copies", *arguments])
        assert exit_status.value.code == 2
        error = capsys.readouterr().err
        assert "usage: python -m recsys_lessons student-copies" in error and message in error


def test_a_learners_answers_are_never_replaced_without_force(tmp_path, capsys):
    student = tmp_path / "student"
    write_student_copies(LESSONS, student)
    answered = student / "00_welcome_and_data.ipynb"
    answered.write_text('{"cells": [], "learner": "my answers"}', encoding="utf-8")
    untouched = {path.name: path.stat().st_mtime_ns for path in student.iterdir()}
    # Copies identical to a fresh one may be written again; the answered one may not.
    with pytest.raises(FileExistsError, match="00_welcome_and_data.ipynb. Nothing was written"):
        write_student_copies(LESSONS, student)
    with pytest.raises(SystemExit):
        main(["student-copies", str(student), "--notebooks", str(LESSONS)])
    assert "--force" in capsys.readouterr().err
    assert "my answers" in answered.read_text(encoding="utf-8")
    assert {path.name: path.stat().st_mtime_ns for path in student.iterdir()} == untouched
    # With --force the fresh copy replaces it.
    assert main(["student-copies", str(student), "--notebooks", str(LESSONS), "--force"]) == 0
    assert "my answers" not in answered.read_text(encoding="utf-8")
    # Running again over identical copies needs no --force.
    assert len(write_student_copies(LESSONS, student)) == len(untouched)


def test_a_folder_under_a_lessons_name_stops_everything_even_with_force(tmp_path):
    student = tmp_path / "student"
    (student / "02_content_based.ipynb").mkdir(parents=True)
    # Refused before anything is written, so the copies are never written only in part.
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="02_content_based.ipynb; move it away"):
            write_student_copies(LESSONS, student, overwrite=overwrite)
        assert [path.name for path in student.iterdir()] == ["02_content_based.ipynb"]


def test_a_copy_never_writes_through_to_a_lesson(tmp_path):
    # A target that is a hard link to a lesson is replaced, not written through.
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    lesson = lessons / "00_welcome_and_data.ipynb"
    lesson.write_bytes((LESSONS / lesson.name).read_bytes())
    before = lesson.read_bytes()
    student = tmp_path / "student"
    student.mkdir()
    (student / lesson.name).hardlink_to(lesson)
    # The target differs from a fresh copy, so only overwrite=True replaces it.
    write_student_copies(lessons, student, overwrite=True)
    assert lesson.read_bytes() == before
    copy = json.loads((student / lesson.name).read_text(encoding="utf-8"))
    assert not [cell for cell in copy["cells"]
                if SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])]
    assert sorted(p.name for p in student.iterdir()) == [lesson.name]


def test_a_second_name_for_the_lessons_folder_is_refused(tmp_path, monkeypatch):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    (lessons / "00.ipynb").write_bytes((LESSONS / "00_welcome_and_data.ipynb").read_bytes())
    second_name = tmp_path / "student"
    try:
        second_name.symlink_to(lessons, target_is_directory=True)
    except OSError:
        pytest.skip("this system does not allow symbolic links")
    # A bind mount or a case-insensitive file system gives a second name that resolve()
    # cannot see through; with resolve() made blind, only the file system's answer is left.
    monkeypatch.setattr(Path, "resolve", lambda self, strict=False: self.absolute())
    with pytest.raises(ValueError, match="would replace the lessons"):
        write_student_copies(lessons, second_name)
    assert sorted(p.name for p in lessons.iterdir()) == ["00.ipynb"]


def test_an_unreadable_lesson_stops_before_anything_is_written(tmp_path):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    (lessons / "00.ipynb").write_bytes((LESSONS / "00_welcome_and_data.ipynb").read_bytes())
    for broken in ('{"cells": [', '{"metadata": {}}', '{"cells": [{"source": "x"}]}',
                   '{"cells": ["x"]}'):
        (lessons / "01.ipynb").write_text(broken, encoding="utf-8")
        with pytest.raises(ValueError, match="01.ipynb is not a readable notebook"):
            write_student_copies(lessons, tmp_path / "student")
        assert not (tmp_path / "student").exists()


# ---------------------------------------------------------------------------
# Found missing by a mutation audit
# ---------------------------------------------------------------------------


POINTER = "Solutions are in the collapsed cells below each exercise."


def markdown(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def code(text, tags=()):
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "execution_count": 3,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["7\n"]}],
            "source": [text]}


def notebook(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def only_markdown(text):
    return "".join(student_copy(notebook(markdown(text)))["cells"][0]["source"])


def test_the_pointer_is_found_across_a_line_break_after_solutions():
    # Rewrapping may break the line right after "Solutions"; the sentence is still replaced.
    assert only_markdown("Try it.\nSolutions\nare in the collapsed cells below each exercise.") \
        == "Try it.\n" + STUDENT_NOTE


def test_the_pointer_takes_its_full_stop_with_it():
    # The whole sentence, period included, becomes the note: "A " + note + " B", with no
    # second period left behind after the note's own.
    assert only_markdown(f"A {POINTER} B") == f"A {STUDENT_NOTE} B"


def test_the_pointer_stops_at_its_own_parenthesis():
    # Only the pointer's own "(click to open)." goes; the next sentence, which also ends in
    # a parenthesis and a full stop, "See part (b).", is kept.
    text = ("Solutions are in the collapsed cells below each exercise (click to open). "
            "See part (b).")
    assert only_markdown(text) == f"{STUDENT_NOTE} See part (b)."


def test_the_note_says_the_solutions_were_removed_and_points_to_check():
    # A learner reads that the copy has no solutions and how to grade answers instead.
    assert "solutions were removed" in STUDENT_NOTE
    assert "`check`" in STUDENT_NOTE


def test_student_copy_leaves_the_lesson_it_was_given_unchanged():
    # The caller's notebook keeps its solution cell, its outputs and its pointer.
    lesson = notebook(markdown(POINTER), code("x = 1", tags=["solution"]), code("print(7)"))
    before = copy.deepcopy(lesson)
    result = student_copy(lesson)
    assert lesson == before
    assert len(result["cells"]) == 2 and result["cells"][1]["outputs"] == []


def test_every_pointer_in_a_cell_is_replaced():
    # Two pointers in one cell both become the note: "A " + note + "\nB " + note.
    assert only_markdown(f"A {POINTER}\nB {POINTER}") == f"A {STUDENT_NOTE}\nB {STUDENT_NOTE}"


def test_only_the_lessons_at_the_top_of_the_folder_are_copied(tmp_path):
    # Jupyter keeps checkpoints in .ipynb_checkpoints/ inside the folder; they are not lessons,
    # so of the two notebooks only 00.ipynb is copied.
    lessons = tmp_path / "notebooks"
    (lessons / ".ipynb_checkpoints").mkdir(parents=True)
    lesson = json.dumps(notebook(markdown("Hello."), code("print(7)")))
    (lessons / "00.ipynb").write_text(lesson, encoding="utf-8")
    (lessons / ".ipynb_checkpoints" / "00-checkpoint.ipynb").write_text(lesson, encoding="utf-8")
    written = write_student_copies(lessons, tmp_path / "student")
    assert [path.name for path in written] == ["00.ipynb"]
    assert sorted(path.name for path in (tmp_path / "student").iterdir()) == ["00.ipynb"]


@pytest.fixture
def two_lessons(tmp_path):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    for name in ("00.ipynb", "01.ipynb"):
        (lessons / name).write_text(json.dumps(notebook(markdown("Hi."))), encoding="utf-8")
    return lessons


def test_a_folder_named_like_a_lesson_is_reported_as_unreadable(two_lessons, tmp_path):
    # Reading a folder raises an OSError; the learner gets the message that names the lesson.
    (two_lessons / "02.ipynb").mkdir()
    with pytest.raises(ValueError, match="02.ipynb is not a readable notebook"):
        write_student_copies(two_lessons, tmp_path / "student")


def test_a_text_cell_is_not_a_cell(two_lessons, tmp_path):
    # The string "cell_type" contains the word but is no cell (a dict), so the lesson is refused.
    (two_lessons / "01.ipynb").write_text('{"cells": ["cell_type"]}', encoding="utf-8")
    with pytest.raises(ValueError, match="01.ipynb is not a readable notebook"):
        write_student_copies(two_lessons, tmp_path / "student")


def test_an_unreadable_lesson_says_how_to_restore_it(two_lessons, tmp_path):
    (two_lessons / "01.ipynb").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=r"git checkout -- .*01\.ipynb"):
        write_student_copies(two_lessons, tmp_path / "student")


def test_the_refusal_counts_only_the_copies_that_differ(two_lessons, tmp_path):
    # Of two copies, one holds a learner's answers: the message counts 1 lesson, not 2.
    student = tmp_path / "student"
    write_student_copies(two_lessons, student)
    (student / "01.ipynb").write_text("my answers", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"already holds 1 lesson\(s\)"):
        write_student_copies(two_lessons, student)


def test_missing_parent_folders_of_the_output_are_created(two_lessons, tmp_path):
    # Neither course/ nor course/handouts/ exists yet; both are made and the two copies written.
    written = write_student_copies(two_lessons, tmp_path / "course" / "handouts")
    assert sorted(path.name for path in written) == ["00.ipynb", "01.ipynb"]


def test_a_broken_link_under_a_lessons_name_is_not_replaced_unasked(two_lessons, tmp_path):
    # The link points nowhere, so it cannot be compared with a fresh copy: it counts as different.
    student = tmp_path / "student"
    student.mkdir()
    (student / "00.ipynb").symlink_to(tmp_path / "nowhere.ipynb")
    with pytest.raises(FileExistsError, match="00.ipynb"):
        write_student_copies(two_lessons, student)
    assert (student / "00.ipynb").is_symlink()


def test_a_pipe_under_a_lessons_name_stops_everything_even_with_force(two_lessons, tmp_path):
    # A named pipe is neither a file nor a folder; like a folder, it is never replaced.
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("this system has no named pipes")
    student = tmp_path / "student"
    student.mkdir()
    os.mkfifo(student / "01.ipynb")
    with pytest.raises(FileExistsError, match="01.ipynb; move it away"):
        write_student_copies(two_lessons, student, overwrite=True)
