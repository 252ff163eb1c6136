"""MovieLens 100K: fetch, verify, cache and load.

`load_movielens("100k")` returns three pandas DataFrames:

- ``ratings``: user_id, item_id, rating, timestamp (100,000 rows; MovieLens ids as they are);
- ``items``: item_id, title, year, genres (a list of genre names), then one 0/1 column per genre;
- ``users``: user_id, age, gender, occupation, zip_code.

Where the data comes from, in order:

1. the cache: three canonical CSV files in the data directory, verified by SHA-256;
2. files a person placed in the data directory by hand: ``ml-100k.zip`` or the unpacked
   ``ml-100k/`` folder from GroupLens, or the ``recbole-1.2.1`` wheel;
3. the official GroupLens zip, downloaded and checked against the MD5 that GroupLens publishes;
4. a mirror on the Python package index: the ``recbole==1.2.1`` wheel ships the same ratings;
   it is fetched with ``pip download --no-deps`` (so it works wherever ``pip`` works), checked
   against its SHA-256, read with ``zipfile`` and never installed.

Whatever the source, the parsed tables are turned into one canonical form and each canonical
table is checked against a recorded SHA-256 before it is cached or returned. A truncated or
edited cache therefore fails the check and is fetched again; it is never loaded.

The MovieLens licence forbids redistribution, so the data is never committed: the cache lives in
the checkout's ``datasets/`` folder (git-ignored), or in a per-user cache directory when the
package is used outside the checkout. The environment variable ``RECSYS_LESSONS_DATA``
overrides both.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recsys_lessons._files import create_new_file, write_atomically

DATA_DIR_ENVIRONMENT_VARIABLE = "RECSYS_LESSONS_DATA"

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
# GroupLens publishes this MD5 beside the zip (ml-100k.zip.md5).
GROUPLENS_ZIP_MD5 = "0e33842e24a9c977be4e0107933c0723"

MIRROR_REQUIREMENT = "recbole==1.2.1"
MIRROR_WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
MIRROR_WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
MIRROR_PREFIX = "recbole/dataset_example/ml-100k/ml-100k"

# The 19 genres in the order GroupLens lists them in u.genre.
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)

CACHE_FOLDER = "movielens-100k"
CANONICAL_FILES = ("ratings.csv", "items.csv", "users.csv")
# SHA-256 of each canonical table as written by `_canonical_csv_bytes`. Both sources produce
# exactly these bytes; tests/test_movielens.py checks it for every source it can reach.
CANONICAL_SHA256 = {
    "ratings.csv": "f9d442df6d2259ed05546f2a3e3b9d13ffecb43cd6bd90ea60fb8ed84afcb7ac",
    "items.csv": "6058b428b1dc264e78e16d742bf331fba23a83a4229b7076946a0aa553d0ffc2",
    "users.csv": "f0666955a899ab27004d413eec2d92e393f5050879597e126ede637390e5a238",
}

NETWORK_TIMEOUT_SECONDS = 20


class DataUnavailableError(RuntimeError):
    """Raised when no source could provide verified MovieLens data."""


# Two MovieLens objects cannot be compared with ==: pandas refuses the truth value of a
# DataFrame comparison, so eq=False keeps the identity comparison.
@dataclass(frozen=True, eq=False)
class MovieLens:
    """The three MovieLens tables. See the module docstring for their columns."""

    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"MovieLens(ratings={len(self.ratings):,} rows, items={len(self.items):,} rows, "
            f"users={len(self.users):,} rows)"
        )


# --------------------------------------------------------------------------- locations


def default_data_dir() -> Path:
    """Where MovieLens is cached when `load_movielens` is given no `data_dir`.

    The environment variable ``RECSYS_LESSONS_DATA`` wins; then the checkout's ``datasets/``
    folder when the package runs from a checkout of the course; else a per-user cache directory.
    A relative ``RECSYS_LESSONS_DATA`` is refused: it would name a different folder from every
    working directory (a notebook's kernel starts in ``notebooks/``, a terminal elsewhere), and
    the data would be fetched again into each.
    """
    override = os.environ.get(DATA_DIR_ENVIRONMENT_VARIABLE)
    if override:
        folder = Path(override).expanduser()
        if not folder.is_absolute():
            raise ValueError(
                f"{DATA_DIR_ENVIRONMENT_VARIABLE}={override!r} is a relative path, which would "
                "mean another folder from every working directory. Set it to an absolute path, "
                f"for example {DATA_DIR_ENVIRONMENT_VARIABLE}=\"$PWD/{override}\"."
            )
        return folder
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "datasets" / "README.md").is_file() and (checkout / "pyproject.toml").is_file():
        return checkout / "datasets"
    return _user_cache_dir() / "recsys_lessons"


def _user_cache_dir() -> Path:
    """The per-user cache folder of the platform.

    An empty or relative ``XDG_CACHE_HOME`` is ignored, as the XDG specification asks: a
    relative one would point somewhere else from every working directory (a notebook's kernel
    starts in ``notebooks/``, a terminal elsewhere), and the data would be fetched again.
    """
    if sys.platform == "win32":
        variable, fallback = "LOCALAPPDATA", Path.home() / "AppData" / "Local"
    else:
        variable, fallback = "XDG_CACHE_HOME", Path.home() / ".cache"
    value = os.environ.get(variable, "")
    return Path(value) if value and Path(value).is_absolute() else fallback


def _sha256_of_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest_of_file(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- canonical form


def _canonical_title_and_year(raw_title: str) -> tuple[str, int | None]:
    """Split a GroupLens title such as "Toy Story (1995)" into ("Toy Story", 1995).

    One video release is listed as "Land Before Time III: ... (1995) (V)"; its year is taken
    from the title as well and the "(V)" stays in the title. Item 267 is called "unknown" and
    has no year.
    """
    title = raw_title.strip()
    match = re.search(r"\s*\((\d{4})\)(\s*\(V\))?$", title)
    if match is None:
        return title, None
    year = int(match.group(1))
    title = title[: match.start()] + (" (V)" if match.group(2) else "")
    return title, year


def _canonical_tables(
    ratings: pd.DataFrame, items: pd.DataFrame, users: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Put the three tables into the one canonical form both sources must reach."""
    ratings = ratings.astype(
        {"user_id": "int64", "item_id": "int64", "rating": "int64", "timestamp": "int64"}
    )
    ratings = ratings.sort_values(["user_id", "item_id"], kind="stable").reset_index(drop=True)
    items = items[["item_id", "title", "year", "genres"]].copy()
    items["item_id"] = items["item_id"].astype("int64")
    items["year"] = items["year"].astype("Int64")
    items = items.sort_values("item_id", kind="stable").reset_index(drop=True)
    users = users[["user_id", "age", "gender", "occupation", "zip_code"]].copy()
    users = users.astype(
        {"user_id": "int64", "age": "int64", "gender": "str", "occupation": "str",
         "zip_code": "str"}
    )
    users = users.sort_values("user_id", kind="stable").reset_index(drop=True)
    return {"ratings.csv": ratings, "items.csv": items, "users.csv": users}


def _canonical_csv_bytes(name: str, table: pd.DataFrame) -> bytes:
    """Serialise a canonical table; the cache holds exactly these bytes."""
    if name == "items.csv":
        table = table.assign(genres=table["genres"].map("|".join))
    return table.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _frames_from_canonical_bytes(contents: dict[str, bytes]) -> MovieLens:
    """Parse the canonical CSV bytes into the DataFrames a learner works with."""
    ratings = pd.read_csv(io.BytesIO(contents["ratings.csv"]))
    ratings["rating"] = ratings["rating"].astype("float64")
    items = pd.read_csv(
        io.BytesIO(contents["items.csv"]), dtype={"title": "str", "genres": "str"},
        keep_default_na=False, na_values={"year": [""]},
    )
    items["year"] = items["year"].astype("Int64")
    items["genres"] = items["genres"].str.split("|")
    # One 0/1 column per genre makes content features and genre plots one line each.
    genre_flags = pd.DataFrame(
        {genre: items["genres"].map(lambda names, g=genre: int(g in names)) for genre in GENRES}
    )
    items = pd.concat([items, genre_flags.astype("int8")], axis=1)
    users = pd.read_csv(
        io.BytesIO(contents["users.csv"]),
        dtype={"gender": "str", "occupation": "str", "zip_code": "str"},
    )
    return MovieLens(ratings=ratings, items=items, users=users)


def _verified_canonical_bytes(
    ratings: pd.DataFrame, items: pd.DataFrame, users: pd.DataFrame, source: str
) -> dict[str, bytes]:
    """Canonicalise, serialise and check every table against its recorded SHA-256."""
    tables = _canonical_tables(ratings, items, users)
    contents = {name: _canonical_csv_bytes(name, table) for name, table in tables.items()}
    for name, data in contents.items():
        if _sha256_of_bytes(data) != CANONICAL_SHA256[name]:
            raise ValueError(
                f"{source} gave a {name} table whose SHA-256 differs from the recorded one: the "
                "file is damaged or is not MovieLens 100K."
            )
    return contents


# --------------------------------------------------------------------------- parsers


def _parse_grouplens(read: callable) -> dict[str, bytes]:
    """Parse the GroupLens files u.data, u.item and u.user; `read(name)` returns their bytes."""
    ratings = pd.read_csv(
        io.BytesIO(read("u.data")), sep="\t", header=None,
        names=["user_id", "item_id", "rating", "timestamp"],
    )
    # u.item is Latin-1 and '|'-separated: id, title, release date, video date, IMDb URL and
    # 19 genre flags in the order of GENRES.
    raw_items = pd.read_csv(
        io.BytesIO(read("u.item")), sep="|", header=None, encoding="latin-1",
        names=["item_id", "raw_title", "release", "video", "url", *GENRES],
        dtype={"raw_title": "str"}, keep_default_na=False,
    )
    titles_and_years = raw_items["raw_title"].map(_canonical_title_and_year)
    items = pd.DataFrame({
        "item_id": raw_items["item_id"],
        "title": titles_and_years.str[0],
        "year": titles_and_years.str[1],
        "genres": [
            [genre for genre in GENRES if row[genre] == 1]
            for _, row in raw_items[list(GENRES)].iterrows()
        ],
    })
    users = pd.read_csv(
        io.BytesIO(read("u.user")), sep="|", header=None,
        names=["user_id", "age", "gender", "occupation", "zip_code"], dtype={"zip_code": "str"},
    )
    return _verified_canonical_bytes(ratings, items, users, "The GroupLens files")


def _parse_mirror(read: callable) -> dict[str, bytes]:
    """Parse the RecBole atomic files ml-100k.inter/.item/.user; `read(suffix)` gives bytes."""
    ratings = pd.read_csv(io.BytesIO(read(".inter")), sep="\t")
    ratings.columns = ["user_id", "item_id", "rating", "timestamp"]
    raw_items = pd.read_csv(
        io.BytesIO(read(".item")), sep="\t", dtype="str", keep_default_na=False
    )
    raw_items.columns = ["item_id", "title", "release_year", "genres"]
    # The mirror split "Title (1995)" into title and year; rebuilding the GroupLens title lets
    # both sources go through the same canonical split. Item 267 is spelled "unkonwn" there.
    raw_titles = [
        "unknown" if title == "unkonwn" else f"{title} ({year})"
        for title, year in zip(raw_items["title"], raw_items["release_year"], strict=True)
    ]
    titles_and_years = pd.Series(raw_titles).map(_canonical_title_and_year)
    items = pd.DataFrame({
        "item_id": raw_items["item_id"].astype("int64"),
        "title": titles_and_years.str[0],
        "year": titles_and_years.str[1],
        "genres": [
            sorted(names.split(" "), key=GENRES.index) for names in raw_items["genres"]
        ],
    })
    users = pd.read_csv(io.BytesIO(read(".user")), sep="\t", dtype={"zip_code:token": "str"})
    users.columns = ["user_id", "age", "gender", "occupation", "zip_code"]
    return _verified_canonical_bytes(ratings, items, users, f"The {MIRROR_WHEEL_NAME} mirror")


def _read_member(archive: zipfile.ZipFile, path: Path, member: str) -> bytes:
    """One file of a zip archive; a member that cannot be unpacked is a ValueError naming it."""
    try:
        return archive.read(member)
    except (zlib.error, lzma.LZMAError, EOFError, NotImplementedError, RuntimeError,
            zipfile.BadZipFile) as error:
        # zipfile reports a damaged deflate or LZMA stream, a truncated member, an unsupported
        # compression method, an encrypted member and a failed CRC with these; none of them is
        # a MovieLens file, so the loader moves on to its next source.
        raise ValueError(
            f"{member} in {path.name} cannot be unpacked ({error}): the archive is damaged, "
            "encrypted or not the MovieLens one."
        ) from None


def _read_grouplens_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return _parse_grouplens(lambda name: _read_member(archive, path, f"ml-100k/{name}"))


def _read_grouplens_folder(path: Path) -> dict[str, bytes]:
    # Unpacking with "Extract All" on Windows nests the folder once more: ml-100k/ml-100k/.
    if not (path / "u.data").exists() and (path / "ml-100k" / "u.data").is_file():
        path = path / "ml-100k"
    return _parse_grouplens(lambda name: (path / name).read_bytes())


def _read_mirror_wheel(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return _parse_mirror(lambda suffix: _read_member(archive, path, MIRROR_PREFIX + suffix))


# --------------------------------------------------------------------------- cache


def _read_cache(folder: Path, quiet: bool = False) -> dict[str, bytes] | None:
    """Return the cached canonical bytes, or None when any file is missing or fails its check.

    Why an existing cache is not used (a file in the folder's place, a file missing, one this
    user may not read, or one that fails its check) is said on stderr unless `quiet`, and the
    other sources are then tried.
    """
    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    if folder.exists() and not folder.is_dir():
        say(f"{folder} is a file, so MovieLens 100K cannot be cached there; remove or rename it.")
        return None
    contents = {}
    for name in CANONICAL_FILES:
        path = folder / name
        try:
            if not path.is_file():
                if folder.exists():
                    say(f"The cache {folder} has no {name}; fetching MovieLens 100K again.")
                return None
            data = path.read_bytes()
        except OSError as error:
            say(f"The cached {path} cannot be read ({error.strerror or error}); make the cache "
                f"readable (for example chmod -R a+rX {folder}). Trying the other sources.")
            return None
        if _sha256_of_bytes(data) != CANONICAL_SHA256[name]:
            say(f"The cached {path.name} failed its SHA-256 check (truncated or edited); "
                "fetching MovieLens 100K again.")
            return None
        contents[name] = data
    return contents


def _write_cache(folder: Path, contents: dict[str, bytes]) -> None:
    """Write each file to a temporary name, then rename it, so no half-written file remains."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        write_atomically(folder / name, data)


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PermissionError(
            f"Cannot write to the data directory {folder} ({error.strerror}). Pass a writable "
            f"folder as data_dir=..., or set the environment variable "
            f"{DATA_DIR_ENVIRONMENT_VARIABLE} to one."
        ) from error


# --------------------------------------------------------------------------- downloads


def _download(url: str, destination: Path, expected_md5: str) -> None:
    """Download `url` with a progress bar into a temporary file, verify it, then rename it."""
    from tqdm import tqdm

    handle, temporary = create_new_file(destination.parent, f".{destination.name}.", ".part")
    try:
        # The file object owns the descriptor from here on, so it is closed even when the
        # connection fails before a single byte arrives.
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(
            url, timeout=NETWORK_TIMEOUT_SECONDS
        ) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=destination.name
            ) as progress:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    progress.update(len(block))
        if _digest_of_file(temporary, "md5") != expected_md5:
            raise ValueError(f"The download from {url} is incomplete or altered (MD5 mismatch).")
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def _fetch_grouplens(work_dir: Path) -> dict[str, bytes]:
    archive = work_dir / "ml-100k.zip"
    _download(GROUPLENS_URL, archive, GROUPLENS_ZIP_MD5)
    return _read_grouplens_zip(archive)


def _fetch_mirror(work_dir: Path) -> dict[str, bytes]:
    """Fetch the recbole wheel with pip and read it.

    pip's own output is captured, to quote it if pip fails, so a line says what is happening.
    """
    print(f"Fetching {MIRROR_REQUIREMENT} from the Python package index with pip...",
          file=sys.stderr)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
        "--only-binary=:all:", "--dest", str(work_dir), MIRROR_REQUIREMENT,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    wheel = work_dir / MIRROR_WHEEL_NAME
    if completed.returncode != 0 or not wheel.is_file():
        last_lines = " ".join((completed.stderr or completed.stdout).strip().splitlines()[-2:])
        raise OSError(f"pip could not download {MIRROR_REQUIREMENT}: {last_lines}")
    if _digest_of_file(wheel, "sha256") != MIRROR_WHEEL_SHA256:
        raise ValueError(f"The downloaded {MIRROR_WHEEL_NAME} failed its SHA-256 check.")
    return _read_mirror_wheel(wheel)


# --------------------------------------------------------------------------- public API


def _hand_placed_sources(data_dir: Path) -> list[tuple[str, callable]]:
    """Files a person may have copied into the data directory, for offline use.

    Every source is a pair (description, read) where read(work_dir) returns canonical bytes,
    like a download's fetch; these read in place and ignore the scratch folder.
    """
    candidates = [
        (data_dir / "ml-100k.zip", _read_grouplens_zip),
        (data_dir / "ml-100k", _read_grouplens_folder),
        (data_dir / MIRROR_WHEEL_NAME, _read_mirror_wheel),
    ]
    return [
        (str(path), lambda work_dir, path=path, reader=reader: reader(path))
        # A link whose target is gone (an unmounted share, say) is tried, so that its error
        # is reported instead of the file being silently ignored.
        for path, reader in candidates
        if path.exists() or path.is_symlink()
    ]


#: What a source that cannot give MovieLens raises; the loader then tries its next source.
_SOURCE_ERRORS = (OSError, ValueError, KeyError, zipfile.BadZipFile, urllib.error.URLError,
                  subprocess.SubprocessError, pd.errors.ParserError,
                  # A connection cut in the middle of a chunked response, or a proxy's
                  # garbled reply, raises http.client's own errors.
                  http.client.HTTPException,
                  # zipfile raises NotImplementedError for a damaged header's "version", and
                  # a huge number in a placed file overflows when converted.
                  NotImplementedError, OverflowError)


#: The scratch folders of downloads start with this, which no other program's folders do.
DOWNLOAD_FOLDER_PREFIX = ".recsys-lessons-download-"
#: Scratch folders untouched for longer than this were left by a killed process.
STALE_DOWNLOAD_SECONDS = 3600


def _remove_stale_downloads(data_dir: Path) -> None:
    """Remove the scratch folders of downloads killed mid-way (SIGKILL leaves them behind).

    Only the loader's own folders are removed, and only when neither the folder nor any
    file in it has changed for an hour, so a download running now in another process, whose
    file grows as it arrives, keeps its own.
    """
    cutoff = time.time() - STALE_DOWNLOAD_SECONDS
    for folder in data_dir.glob(DOWNLOAD_FOLDER_PREFIX + "*"):
        try:
            if not folder.is_dir() or folder.is_symlink():
                continue
            changed = max([folder.stat().st_mtime,
                           *(path.stat().st_mtime for path in folder.iterdir())])
            if changed < cutoff:
                shutil.rmtree(folder)
        except OSError:  # Another process removed it first, or it is not ours to remove.
            continue


def _reason(error: Exception) -> str:
    """Why a source failed, with the kind of error: some errors carry no message of their own."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _cached_frames(cache: Path, contents: dict[str, bytes], description: str) -> MovieLens:
    """Cache verified contents and return them as frames; a failed cache write only warns.

    The contents have passed their SHA-256 checks, so losing them to a full disk or a
    read-only folder would throw good data away; the next call reads the source again.
    """
    try:
        _write_cache(cache, contents)
    except OSError as error:
        print(
            f"MovieLens 100K was read from {description} but could not be cached in {cache} "
            f"({error.strerror or error}); it will be read again next time. Pass a writable "
            f"folder as data_dir=..., or set {DATA_DIR_ENVIRONMENT_VARIABLE}, to cache it.",
            file=sys.stderr,
        )
    return _frames_from_canonical_bytes(contents)


def load_movielens(
    name: str = "100k", data_dir: str | os.PathLike | None = None, download: bool = True
) -> MovieLens:
    """Load MovieLens, fetching and verifying it on first use.

    Parameters
    ----------
    name:
        Only ``"100k"`` is supported.
    data_dir:
        Folder for the cache; see `default_data_dir` for the default.
    download:
        When False, only the cache and hand-placed files are tried.

    Returns
    -------
    MovieLens
        With DataFrames ``.ratings``, ``.items`` and ``.users``.
    """
    if str(name).lower().removeprefix("ml-") != "100k":
        raise ValueError(
            f"Unknown MovieLens dataset {name!r}. This course uses MovieLens 100K: call "
            "load_movielens('100k')."
        )
    data_dir = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    if data_dir.is_symlink() and not data_dir.exists():
        problem = f"is a link to {os.readlink(data_dir)}, which does not exist"
    elif data_dir.exists() and not data_dir.is_dir():
        problem = "is a file"
    else:
        problem = None
    if problem:
        raise DataUnavailableError(
            f"The data directory {data_dir} {problem}. Pass a folder as data_dir=..., or set "
            f"the environment variable {DATA_DIR_ENVIRONMENT_VARIABLE} to one."
        )
    cache = data_dir / CACHE_FOLDER

    contents = _read_cache(cache)
    if contents is not None:
        return _frames_from_canonical_bytes(contents)

    failures = []
    if cache.exists():
        failures.append(f"  - the cache {cache}: incomplete, damaged or unreadable (see above)")
    # Hand-placed files are read in place, so they work even from a folder this user cannot
    # write to (say, one an administrator filled for a workshop); only downloads need a
    # writable folder for their scratch files.
    for description, read in _hand_placed_sources(data_dir):
        try:
            contents = read(None)
        except _SOURCE_ERRORS as error:
            failures.append(f"  - {description}: {_reason(error)}")
            continue
        return _cached_frames(cache, contents, description)
    if download:
        try:
            _check_writable(data_dir)
        except PermissionError as error:
            # Keep what the hand-placed files said: a damaged archive matters more than the
            # folder's permissions to someone who placed one.
            failures.append(f"  - downloads: {error}")
            download = False
    if download:
        _remove_stale_downloads(data_dir)
        for description, fetch in [("the GroupLens website", _fetch_grouplens),
                                   ("the Python package index mirror", _fetch_mirror)]:
            with tempfile.TemporaryDirectory(dir=data_dir,
                                             prefix=DOWNLOAD_FOLDER_PREFIX) as work_dir:
                try:
                    contents = fetch(Path(work_dir))
                except _SOURCE_ERRORS as error:
                    failures.append(f"  - {description}: {_reason(error)}")
                    continue
            return _cached_frames(cache, contents, description)

    raise DataUnavailableError(
        "Could not obtain MovieLens 100K. Tried:\n" + "\n".join(failures or ["  - nothing"])
        + "\n\nTo place the data by hand (for example on an offline machine):\n"
        f"  1. On a machine with internet access, download {GROUPLENS_URL}\n"
        f"     (or run: python -m pip download --no-deps {MIRROR_REQUIREMENT}).\n"
        f"  2. Copy ml-100k.zip (or {MIRROR_WHEEL_NAME}) into {data_dir}\n"
        "  3. Call load_movielens('100k') again, or run `python -m recsys_lessons fetch`: the\n"
        "     files are verified and cached.\n"
    )
