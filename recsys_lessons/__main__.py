"""Command line: ``python -m recsys_lessons COMMAND``.

Commands
--------
benchmark [--models NAME ...] [--k 10] [--protocol standard|leave-one-out] [--record]
    The leaderboard on MovieLens 100K under the standard or the leave-one-out protocol
    (see `recsys_lessons.benchmark`). --record also keeps the rows in
    recsys_lessons/recorded/, where lesson 08 and the README tests read them.
benchmark-record [--protocol standard|leave-one-out]
    Print the recorded leaderboard without training anything.
benchmark-metrics
    Time `ranking_metrics` on 5 million synthetic held-out rows (5,000 users × 1,000 items
    each from a 10,000-item catalogue, 10 recommendations per user).
benchmark-epoch
    Time one training epoch of NeuMF with its defaults on MovieLens 100K (leave-one-out
    training part, 4 negatives per positive: 495,285 rows).
fetch
    Fetch, verify and cache MovieLens 100K, say where it is and how long loading took
    (from the cache, after the first run).
student-copies OUT_DIR [--notebooks DIR] [--force]
    Write every lesson without solution cells and without outputs, for learners. A copy
    already in OUT_DIR that differs (a learner's answers, say) is replaced only with --force.

A mistake in the arguments gives a usage message and exit status 2; data that cannot be
fetched gives the loader's instructions and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _program_name() -> str:
    """How the user called us: the installed script, or ``python -m``."""
    return "recsys-lessons" if Path(sys.argv[0]).name == "recsys-lessons" else (
        "python -m recsys_lessons")


def _data_unavailable(error: Exception) -> int:
    """Print why MovieLens could not be obtained, and how to place it by hand; exit status 1."""
    print(f"{_program_name()}: {error}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=_program_name(), description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    benchmark = commands.add_parser("benchmark", help="the model leaderboard on MovieLens 100K")
    benchmark.add_argument("--models", nargs="+", help="model class names; all by default")
    benchmark.add_argument("--k", type=int, default=10, help="list length (default 10)")
    benchmark.add_argument(
        "--protocol", default="standard", choices=["standard", "leave-one-out"],
        help="standard: stratified 75/25, full ranking; leave-one-out: latest item vs 99 "
        "sampled negatives",
    )
    benchmark.add_argument("--record", action="store_true",
                           help="also keep the rows in recsys_lessons/recorded/ (k must be 10)")
    shown = commands.add_parser("benchmark-record", help="print the recorded leaderboard")
    shown.add_argument("--protocol", default="standard", choices=["standard", "leave-one-out"])
    commands.add_parser("benchmark-metrics", help="time ranking_metrics on 5M rows")
    commands.add_parser("benchmark-epoch", help="time one NeuMF training epoch")
    commands.add_parser("fetch", help="fetch, verify and cache MovieLens 100K")
    copies = commands.add_parser(
        "student-copies", help="write the lessons without solutions and outputs"
    )
    copies.add_argument("output_folder", help="where to write the copies, e.g. student/")
    copies.add_argument("--notebooks", default="notebooks", help="the lessons' folder")
    copies.add_argument("--force", action="store_true",
                        help="replace copies in OUT_DIR that differ, e.g. a learner's answers")
    arguments = parser.parse_args(argv)

    if arguments.command == "benchmark":
        from recsys_lessons.benchmark import (
            LEAVE_ONE_OUT_NEGATIVES,
            STANDARD_K,
            STANDARD_SEED,
            STANDARD_TEST_SIZE,
            check_benchmark_arguments,
            check_record_writable,
            format_table,
            read_record,
            run_benchmark,
        )
        from recsys_lessons.data import DataUnavailableError, default_data_dir

        if arguments.record and arguments.k != STANDARD_K:
            benchmark.error(f"--record keeps the course's k = {STANDARD_K} only; drop --k or "
                            "--record.")
        # Every mistake is found before anything trains (a full run takes minutes), including
        # a damaged record that --record would fail to update at the end. Errors raised while
        # training are not the user's and keep their traceback.
        try:
            check_benchmark_arguments(arguments.models, arguments.k, arguments.protocol)
            # Looking up the data folder now refuses a relative RECSYS_LESSONS_DATA early.
            default_data_dir()
            if arguments.record:
                read_record(arguments.protocol, missing_ok=True)
                check_record_writable(arguments.protocol)
        except ValueError as error:
            benchmark.error(str(error))
        try:
            table = run_benchmark(arguments.models, k=arguments.k, protocol=arguments.protocol)
        except DataUnavailableError as error:
            return _data_unavailable(error)
        if arguments.protocol == "standard":
            print(f"MovieLens 100K, per-user stratified {1 - STANDARD_TEST_SIZE:.0%}/"
                  f"{STANDARD_TEST_SIZE:.0%} split (seed {STANDARD_SEED}), k={arguments.k}, "
                  "full ranking, seen items excluded.")
        else:
            print(f"MovieLens 100K, leave-one-out: each user's latest rating ranked among "
                  f"{LEAVE_ONE_OUT_NEGATIVES} never-rated items (seed {STANDARD_SEED}), "
                  f"k={arguments.k}.")
        print(format_table(table))
        if arguments.record:
            from recsys_lessons.benchmark import write_record

            try:
                path = write_record(table)
            except ValueError as error:
                benchmark.error(str(error))
            print(f"Recorded {len(table)} row(s) in {path.name}.")
    elif arguments.command == "benchmark-record":
        from recsys_lessons.benchmark import format_table, recorded_benchmark

        try:
            table = recorded_benchmark(protocol=arguments.protocol)
        except ValueError as error:
            shown.error(str(error))
        dates = sorted({row["recorded"] for row in table.attrs["provenance"].values()})
        print(f"Recorded {arguments.protocol} leaderboard, measured on {', '.join(dates)}.")
        print(format_table(table))
    elif arguments.command == "benchmark-metrics":
        from recsys_lessons.benchmark import time_ranking_metrics

        result = time_ranking_metrics()
        print(f"ranking_metrics on {result['num_test_rows']:,} test rows and "
              f"{result['num_recommendation_rows']:,} recommendation rows: "
              f"best {result['best_seconds']:.3f} s, median {result['median_seconds']:.3f} s.")
    elif arguments.command == "benchmark-epoch":
        from recsys_lessons.benchmark import time_neumf_epoch
        from recsys_lessons.data import DataUnavailableError, default_data_dir

        try:
            default_data_dir()  # A relative RECSYS_LESSONS_DATA is refused here.
        except ValueError as error:
            return _data_unavailable(error)
        try:
            result = time_neumf_epoch()
        except DataUnavailableError as error:
            return _data_unavailable(error)
        print(f"NeuMF with its defaults, one epoch of {result['rows_per_epoch']:,} rows "
              f"({result['positives']:,} positives and their negatives) in batches of "
              f"{result['batch_size']:,}: best {result['best_seconds']:.2f} s, median "
              f"{result['median_seconds']:.2f} s.")
    elif arguments.command == "fetch":
        import time

        from recsys_lessons.data import DataUnavailableError, default_data_dir, load_movielens
        from recsys_lessons.data.movielens import CACHE_FOLDER, _read_cache

        try:
            default_data_dir()  # A relative RECSYS_LESSONS_DATA is refused here.
        except ValueError as error:
            return _data_unavailable(error)
        start = time.perf_counter()
        try:
            movielens = load_movielens("100k")
        except DataUnavailableError as error:
            return _data_unavailable(error)
        seconds = time.perf_counter() - start
        cache = default_data_dir() / CACHE_FOLDER
        # The loader only warns when it cannot write its cache; say so here as well.
        where = (f"cached in {cache}" if _read_cache(cache, quiet=True) is not None
                 else f"not cached: {cache} could not be written")
        print(f"{movielens} loaded and verified in {seconds:.3f} s; {where}")
    elif arguments.command == "student-copies":
        from recsys_lessons.student_copies import write_student_copies

        try:
            written = write_student_copies(arguments.notebooks, arguments.output_folder,
                                           overwrite=arguments.force)
        except (ValueError, OSError) as error:
            copies.error(str(error))
        print(f"Wrote {len(written)} student copies to {arguments.output_folder}: "
              + ", ".join(path.name for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
