"""MovieLens 100K: sources, verification, cache and errors.

These tests need the Python package index (the mirror), as installing the course does; no
test needs the GroupLens website, which CI machines may not reach.
"""

import hashlib
import http.client
import os
import shutil
import subprocess
import time
import urllib.error
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from recsys_lessons.data import GENRES, DataUnavailableError, load_movielens
from recsys_lessons.data import movielens as movielens_module

UNREACHABLE = "http://127.0.0.1:9/ml-100k.zip"  # The discard port: the connection is refused.


@pytest.fixture(scope="session")
def mirror_wheel(tmp_path_factory):
    """The recbole wheel, fetched once per test run through the real pip route."""
    folder = tmp_path_factory.mktemp("mirror")
    movielens_module._fetch_mirror(folder)
    return folder / movielens_module.MIRROR_WHEEL_NAME


def test_shapes_sums_and_columns(movielens):
    ratings, items, users = movielens.ratings, movielens.items, movielens.users
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(ratings) == 100_000 and ratings["rating"].sum() == 352_986
    assert ratings["user_id"].nunique() == 943 and ratings["item_id"].nunique() == 1682
    assert list(items.columns[:4]) == ["item_id", "title", "year", "genres"]
    assert list(items.columns[4:]) == list(GENRES)
    assert list(users.columns) == ["user_id", "age", "gender", "occupation", "zip_code"]
    star_wars = items.set_index("item_id").loc[50]
    assert (star_wars["title"], star_wars["year"]) == ("Star Wars", 1977)
    assert star_wars["genres"] == ["Action", "Adventure", "Romance", "Sci-Fi", "War"]
    assert star_wars["Sci-Fi"] == 1 and star_wars["Comedy"] == 0
    # Every genre flag agrees with the genre list.
    for genre in GENRES:
        assert (items[genre] == items["genres"].map(lambda names, g=genre: g in names)).all()
    assert pd.isna(items.set_index("item_id").loc[267, "year"])


def test_canonical_ratings_hash(movielens):
    data = movielens_module._canonical_csv_bytes(
        "ratings.csv", movielens.ratings.astype({"rating": "int64"})
    )
    assert hashlib.sha256(data).hexdigest() == movielens_module.CANONICAL_SHA256["ratings.csv"]


def test_empty_directory_without_grouplens_uses_the_mirror(tmp_path, monkeypatch, movielens):
    monkeypatch.setattr(movielens_module, "GROUPLENS_URL", UNREACHABLE)
    loaded = load_movielens("100k", data_dir=tmp_path)
    pd.testing.assert_frame_equal(loaded.ratings, movielens.ratings)
    assert sorted(path.name for path in (tmp_path / "movielens-100k").iterdir()) == [
        "items.csv", "ratings.csv", "users.csv"
    ]
    # No scratch folder or partial file is left behind.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["movielens-100k"]


def test_hand_placed_wheel_is_used_offline(tmp_path, mirror_wheel, movielens):
    shutil.copy(mirror_wheel, tmp_path)
    loaded = load_movielens("100k", data_dir=tmp_path, download=False)
    pd.testing.assert_frame_equal(loaded.items, movielens.items)
    pd.testing.assert_frame_equal(loaded.users, movielens.users)


def _grouplens_zip_from(movielens, path):
    """Write the data back in GroupLens's own format (u.data, u.item, u.user)."""
    ratings = movielens.ratings.astype({"rating": "int64"}).sample(frac=1.0, random_state=1)
    item_lines = []
    for row in movielens.items.itertuples(index=False):
        title = row.title
        if pd.notna(row.year):
            title = (title[:-4] + f" ({row.year}) (V)") if title.endswith(" (V)") else (
                f"{title} ({row.year})"
            )
        date = f"01-Jan-{row.year}" if pd.notna(row.year) else ""
        flags = "|".join(str(int(genre in row.genres)) for genre in GENRES)
        item_lines.append(f"{row.item_id}|{title}|{date}||http://example.org|{flags}")
    user_lines = [
        f"{row.user_id}|{row.age}|{row.gender}|{row.occupation}|{row.zip_code}"
        for row in movielens.users.itertuples(index=False)
    ]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ml-100k/u.data", ratings.to_csv(sep="\t", header=False, index=False))
        archive.writestr("ml-100k/u.item", ("\n".join(item_lines) + "\n").encode("latin-1"))
        archive.writestr("ml-100k/u.user", "\n".join(user_lines) + "\n")


def test_grouplens_format_gives_identical_canonical_frames(tmp_path, movielens):
    _grouplens_zip_from(movielens, tmp_path / "ml-100k.zip")
    loaded = load_movielens("100k", data_dir=tmp_path, download=False)
    for name in ("ratings", "items", "users"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(movielens, name))


def test_grouplens_download_is_verified_and_renamed(tmp_path, movielens):
    source = tmp_path / "served.zip"
    _grouplens_zip_from(movielens, source)
    target = tmp_path / "data"
    target.mkdir()
    # The rebuilt zip is not GroupLens's file, so its MD5 differs: the download is rejected
    # and no partial file remains (that the loader then moves on to the next source is
    # test_network_errors_are_caught_per_source's subject).
    with pytest.raises(ValueError, match="MD5"):
        movielens_module._download(source.as_uri(), target / "ml-100k.zip", "0" * 32)
    assert list(target.iterdir()) == []
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    movielens_module._download(source.as_uri(), target / "ml-100k.zip", md5)
    assert (target / "ml-100k.zip").read_bytes() == source.read_bytes()


def test_corrupted_cache_is_never_loaded(tmp_path, mirror_wheel, movielens):
    shutil.copy(mirror_wheel, tmp_path)
    load_movielens(data_dir=tmp_path, download=False)
    cached = tmp_path / "movielens-100k" / "ratings.csv"
    original = cached.read_bytes()
    cached.write_bytes(original[: len(original) // 2])  # A truncated file.
    loaded = load_movielens(data_dir=tmp_path, download=False)
    assert len(loaded.ratings) == 100_000
    assert cached.read_bytes() == original  # Fetched again from the placed wheel.
    # An edited rating with no source to repair it: an error, not wrong data.
    cached.write_bytes(original.replace(b"\n1,1,5,", b"\n1,1,4,", 1))
    (tmp_path / movielens_module.MIRROR_WHEEL_NAME).unlink()
    with pytest.raises(DataUnavailableError, match="place the data by hand") as error:
        load_movielens(data_dir=tmp_path, download=False)
    # The damaged cache is among what was tried.
    assert "the cache" in str(error.value) and "damaged" in str(error.value)


def test_every_source_failing_says_how_to_place_files(tmp_path, monkeypatch):
    monkeypatch.setattr(movielens_module, "GROUPLENS_URL", UNREACHABLE)
    monkeypatch.setattr(movielens_module, "MIRROR_REQUIREMENT", "recbole==0.0.0.404")
    with pytest.raises(DataUnavailableError) as error:
        load_movielens(data_dir=tmp_path)
    message = str(error.value)
    assert "GroupLens website" in message and "package index mirror" in message
    assert "ml-100k.zip" in message and str(tmp_path) in message
    assert [path.name for path in tmp_path.iterdir()] == []


def test_damaged_placed_archive_is_reported_not_loaded(tmp_path):
    (tmp_path / "ml-100k.zip").write_bytes(b"this is not a zip file")
    with pytest.raises(DataUnavailableError, match="ml-100k.zip"):
        load_movielens(data_dir=tmp_path, download=False)


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="load_movielens\\('100k'\\)"):
        load_movielens("1m")


def _refuse_writing(folder):
    raise PermissionError(f"Cannot write to the data directory {folder}; set RECSYS_LESSONS_DATA.")


def test_unwritable_data_directory(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DataUnavailableError, match="Cannot write to the data directory"):
        load_movielens(data_dir=blocker / "data")
    # What a damaged hand-placed file said is kept next to the folder's problem.
    (tmp_path / "ml-100k.zip").write_bytes(b"this is not a zip file")
    monkeypatch.setattr(movielens_module, "_check_writable", _refuse_writing)
    with pytest.raises(DataUnavailableError) as error:
        load_movielens(data_dir=tmp_path)
    assert "ml-100k.zip" in str(error.value) and "RECSYS_LESSONS_DATA" in str(error.value)


def test_environment_variable_overrides_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_LESSONS_DATA", str(tmp_path))
    assert movielens_module.default_data_dir() == tmp_path


def test_a_relative_environment_variable_is_refused(tmp_path, monkeypatch):
    # A relative folder would be another folder in the notebooks' working directory than in a
    # terminal's, and the data would be fetched once for each.
    monkeypatch.setenv("RECSYS_LESSONS_DATA", "data")
    message = r"RECSYS_LESSONS_DATA='data' is a relative path.*RECSYS_LESSONS_DATA=\"\$PWD/data\""
    with pytest.raises(ValueError, match=message):
        movielens_module.default_data_dir()
    with pytest.raises(ValueError, match="relative path"):
        load_movielens()
    # A path from the home folder is absolute once expanded.
    monkeypatch.setenv("RECSYS_LESSONS_DATA", "~/data")
    assert movielens_module.default_data_dir() == Path.home() / "data"


def _both_sources_unreachable(monkeypatch):
    """GroupLens and the mirror both fail as an unreachable network does."""
    def refuse(work_dir):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(movielens_module, "_fetch_grouplens", refuse)
    monkeypatch.setattr(movielens_module, "_fetch_mirror", refuse)


def test_network_errors_are_caught_per_source(tmp_path, monkeypatch):
    _both_sources_unreachable(monkeypatch)
    with pytest.raises(DataUnavailableError, match="no route to host"):
        load_movielens(data_dir=tmp_path)


def _patched_zip(source, target, flag_bits=0, compression=None):
    """A copy of a zip whose members claim `flag_bits` or a `compression` method."""
    import struct

    data = bytearray(source.read_bytes())
    # Local headers keep flags and method at bytes 6 and 8, central headers at 8 and 10.
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            (flags,) = struct.unpack_from("<H", data, start + flags_at)
            struct.pack_into("<H", data, start + flags_at, flags | flag_bits)
            if compression is not None:
                struct.pack_into("<H", data, start + flags_at + 2, compression)
            start = data.find(signature, start + 4)
    target.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, reason", [
    ({"compression": 99}, "compression method"),
    ({"flag_bits": 0x1}, "password required"),
])
def test_an_archive_that_cannot_be_unpacked_is_reported_with_its_name(
    tmp_path, movielens, damage, reason
):
    good = tmp_path / "good.zip"
    _grouplens_zip_from(movielens, good)
    placed = tmp_path / "data"
    placed.mkdir()
    _patched_zip(good, placed / "ml-100k.zip", **damage)
    with pytest.raises(DataUnavailableError) as error:
        load_movielens(data_dir=placed, download=False)
    message = str(error.value)
    assert "ml-100k.zip" in message and reason in message
    assert not (placed / "movielens-100k").exists()


def test_hand_placed_files_load_when_the_cache_cannot_be_written(
    tmp_path, mirror_wheel, movielens, monkeypatch, capsys
):
    shutil.copy(mirror_wheel, tmp_path)

    def full_disk(folder, contents):
        raise OSError(28, "No space left on device")

    # A folder nobody may write to still serves the files placed in it, and a failed cache
    # write costs a warning, not the verified data.
    monkeypatch.setattr(movielens_module, "_check_writable", _refuse_writing)
    monkeypatch.setattr(movielens_module, "_write_cache", full_disk)
    loaded = load_movielens(data_dir=tmp_path)
    pd.testing.assert_frame_equal(loaded.ratings, movielens.ratings)
    assert "could not be cached" in capsys.readouterr().err
    assert not (tmp_path / "movielens-100k").exists()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count files")
def test_a_failed_connection_leaves_no_open_file_and_no_partial_file(tmp_path, monkeypatch):
    def refuse(url, timeout):
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(movielens_module.urllib.request, "urlopen", refuse)
    open_before = len(list(Path("/proc/self/fd").iterdir()))
    for _ in range(3):
        with pytest.raises(urllib.error.URLError):
            movielens_module._download(UNREACHABLE, tmp_path / "ml-100k.zip", "0" * 32)
    assert len(list(Path("/proc/self/fd").iterdir())) == open_before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["", "relative/cache"])
def test_an_empty_or_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path, value):
    monkeypatch.setattr(movielens_module.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", value)
    assert movielens_module._user_cache_dir() == Path.home() / ".cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert movielens_module._user_cache_dir() == tmp_path


def test_http_protocol_errors_fall_back_to_the_next_source(tmp_path, monkeypatch):
    # A connection cut inside a chunked reply, and a proxy's garbled status line.
    def cut(work_dir):
        raise http.client.IncompleteRead(b"")

    def garbled(work_dir):
        raise http.client.BadStatusLine("HTTP/1.1 OK")

    monkeypatch.setattr(movielens_module, "_fetch_grouplens", cut)
    monkeypatch.setattr(movielens_module, "_fetch_mirror", garbled)
    with pytest.raises(DataUnavailableError) as error:
        load_movielens(data_dir=tmp_path)
    assert "IncompleteRead" in str(error.value) and "HTTP/1.1 OK" in str(error.value)


def test_a_damaged_zip_header_does_not_hide_the_folder_beside_it(tmp_path, monkeypatch, movielens):
    _grouplens_zip_from(movielens, tmp_path / "ml-100k.zip")
    with zipfile.ZipFile(tmp_path / "ml-100k.zip") as archive:
        archive.extractall(tmp_path)

    def damaged(path):
        raise NotImplementedError("zip file version 12.2")  # What zipfile says of such a header.

    def failing_without_a_message(path):
        raise NotImplementedError

    # Every failure in the final message names its kind, even one without a message.
    monkeypatch.setattr(movielens_module, "_read_grouplens_zip", failing_without_a_message)
    monkeypatch.setattr(movielens_module, "_read_grouplens_folder", failing_without_a_message)
    with pytest.raises(DataUnavailableError, match="ml-100k.zip: NotImplementedError\n"):
        load_movielens(data_dir=tmp_path, download=False)
    monkeypatch.undo()

    monkeypatch.setattr(movielens_module, "_read_grouplens_zip", damaged)
    loaded = load_movielens(data_dir=tmp_path, download=False)
    pd.testing.assert_frame_equal(loaded.ratings, movielens.ratings)


def test_the_folder_nested_by_extract_all_is_read(tmp_path, movielens):
    # Windows' "Extract All" of ml-100k.zip into ml-100k/ gives ml-100k/ml-100k/u.data.
    _grouplens_zip_from(movielens, tmp_path / "download.zip")
    with zipfile.ZipFile(tmp_path / "download.zip") as archive:
        archive.extractall(tmp_path / "ml-100k")
    (tmp_path / "download.zip").unlink()
    loaded = load_movielens(data_dir=tmp_path, download=False)
    pd.testing.assert_frame_equal(loaded.users, movielens.users)


def test_an_unreadable_cache_is_reported_and_the_other_sources_tried(
    tmp_path, mirror_wheel, movielens, monkeypatch, capsys
):
    shutil.copy(mirror_wheel, tmp_path)
    load_movielens(data_dir=tmp_path, download=False)
    cached = tmp_path / "movielens-100k" / "ratings.csv"
    read_bytes = Path.read_bytes

    def unreadable(path):
        if path == cached:
            raise PermissionError(13, "Permission denied")
        return read_bytes(path)

    # Permissions are not enough to test this: an administrator reads every file.
    monkeypatch.setattr(Path, "read_bytes", unreadable)
    loaded = load_movielens(data_dir=tmp_path, download=False)
    assert len(loaded.ratings) == 100_000
    error = capsys.readouterr().err
    assert "cannot be read (Permission denied)" in error and "chmod -R a+rX" in error


def test_a_data_directory_that_is_a_file_or_a_dangling_link_is_named(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    with pytest.raises(DataUnavailableError, match="a-file is a file"):
        load_movielens(data_dir=a_file)
    try:
        (tmp_path / "data").symlink_to(tmp_path / "unmounted")
    except OSError:
        pytest.skip("this system does not allow symbolic links")
    with pytest.raises(DataUnavailableError, match="data is a link to .*unmounted, which does not"):
        load_movielens(data_dir=tmp_path / "data")
    # A hand-placed link to a file that is gone (an unmounted share) is reported, not skipped.
    (tmp_path / "ml-100k.zip").symlink_to(tmp_path / "gone.zip")
    with pytest.raises(DataUnavailableError, match="ml-100k.zip: FileNotFoundError: .*No such"):
        load_movielens(data_dir=tmp_path, download=False)


def test_movielens_objects_compare_without_an_error(movielens):
    assert movielens == movielens
    assert movielens != load_movielens("100k")


def test_scratch_folders_of_killed_downloads_are_removed(tmp_path, monkeypatch):
    _both_sources_unreachable(monkeypatch)
    prefix = movielens_module.DOWNLOAD_FOLDER_PREFIX
    killed, running = tmp_path / f"{prefix}killed", tmp_path / f"{prefix}running"
    # Someone's own folder with a similar name, as old as the killed download's.
    someone_elses = tmp_path / ".download-notes"
    two_hours_ago = time.time() - 7200
    for folder in (killed, running, someone_elses):
        folder.mkdir()
        (folder / "file").write_bytes(b"half a download")
        os.utime(folder, (two_hours_ago, two_hours_ago))
    # A download still running makes its file grow, though its folder's time stays old.
    for path in (killed / "file", someone_elses / "file"):
        os.utime(path, (two_hours_ago, two_hours_ago))
    # Only what is older than an hour counts as left behind: a slow download is kept.
    slow = tmp_path / f"{prefix}slow"
    slow.mkdir()
    (slow / "file").write_bytes(b"part of a download")
    half_an_hour_ago = time.time() - 1800
    for path in (slow / "file", slow):
        os.utime(path, (half_an_hour_ago, half_an_hour_ago))
    with pytest.raises(DataUnavailableError):
        load_movielens(data_dir=tmp_path)
    assert not killed.exists() and running.exists() and someone_elses.exists()
    assert slow.exists()


def test_an_edited_placed_archive_is_refused_and_not_cached(tmp_path, movielens):
    # One rating changed: the archive unpacks and parses, but its tables are not MovieLens'.
    ratings = movielens.ratings.copy()
    ratings.loc[0, "rating"] = 1.0 if ratings.loc[0, "rating"] != 1 else 2.0
    edited = type(movielens)(ratings=ratings, items=movielens.items, users=movielens.users)
    _grouplens_zip_from(edited, tmp_path / "ml-100k.zip")
    with pytest.raises(DataUnavailableError, match="SHA-256"):
        load_movielens(data_dir=tmp_path, download=False)
    assert not (tmp_path / "movielens-100k").exists()


def test_a_zip_of_another_dataset_is_reported(tmp_path):
    # ml-latest-small renamed to ml-100k.zip: the files the loader needs are not in it.
    with zipfile.ZipFile(tmp_path / "ml-100k.zip", "w") as archive:
        archive.writestr("ml-latest-small/ratings.csv", "userId,movieId,rating,timestamp\n")
    with pytest.raises(DataUnavailableError, match="KeyError"):
        load_movielens(data_dir=tmp_path, download=False)


def test_a_damaged_deflate_stream_is_reported(tmp_path):
    # A half-copied zip: its directory is intact, its compressed data is not.
    rows = "".join(f"{user}\t{item}\t5\t874965758\n"
                   for user, item in zip(range(1, 5001), range(5000, 0, -1), strict=True))
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ml-100k/u.data", rows)
    data = bytearray(good.read_bytes())
    data[30 + len("ml-100k/u.data")] = 0xFF  # after the local header: block type 3 is invalid
    placed = tmp_path / "placed"
    placed.mkdir()
    (placed / "ml-100k.zip").write_bytes(bytes(data))
    with pytest.raises(DataUnavailableError, match=r"cannot be unpacked .Error -3"):
        load_movielens(data_dir=placed, download=False)


def test_the_mirror_wheel_must_have_its_published_checksum(tmp_path, mirror_wheel, monkeypatch):
    def pip_download_with_a_byte_more(command, **options):
        target = Path(command[command.index("--dest") + 1]) / movielens_module.MIRROR_WHEEL_NAME
        shutil.copy(mirror_wheel, target)
        with open(target, "ab") as handle:
            handle.write(b"\0")  # still a readable zip, but not the published file
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(movielens_module.subprocess, "run", pip_download_with_a_byte_more)
    with pytest.raises(ValueError, match="SHA-256"):
        movielens_module._fetch_mirror(tmp_path)


def test_column_types_and_dataset_name_spellings(tmp_path, movielens):
    # Float ratings, so that centring them in place does not truncate; 0/1 genre flags.
    assert movielens.ratings["rating"].dtype == "float64"
    assert movielens.items["Action"].dtype == "int8"
    _grouplens_zip_from(movielens, tmp_path / "ml-100k.zip")
    assert len(load_movielens("ML-100K", data_dir=tmp_path, download=False).ratings) == 100_000


def test_the_cache_is_written_atomically(tmp_path, monkeypatch, movielens):
    # write_atomically (tests/test_files.py) never leaves half a file under the real name.
    written = []

    def recording_write(path, data):
        written.append(path.name)
        path.write_bytes(data)

    monkeypatch.setattr(movielens_module, "write_atomically", recording_write)
    _grouplens_zip_from(movielens, tmp_path / "ml-100k.zip")
    load_movielens(data_dir=tmp_path, download=False)
    cached = sorted(path.name for path in (tmp_path / "movielens-100k").iterdir())
    assert cached and sorted(written) == cached
