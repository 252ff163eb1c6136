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
fetch
    Fetch, verify and cache MovieLens 100K, say where it is and how long loading took
    (from the cache, after the first run).
student-copies OUT_DIR [--notebooks DIR]
    Write every lesson without solution cells and without outputs, for learners.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_lessons", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    benchmark = commands.add_parser("benchmark", help="the model leaderboard on MovieLens 100K")
    benchmark.add_argument("--models", nargs="*", help="model class names; all by default")
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
    commands.add_parser("fetch", help="fetch, verify and cache MovieLens 100K")
    copies = commands.add_parser(
        "student-copies", help="write the lessons without solutions and outputs"
    )
    copies.add_argument("output_folder", help="where to write the copies, e.g. student/")
    copies.add_argument("--notebooks", default="notebooks", help="the lessons' folder")
    arguments = parser.parse_args(argv)

    if arguments.command == "benchmark":
        from recsys_lessons.benchmark import (
            LEAVE_ONE_OUT_NEGATIVES,
            STANDARD_K,
            STANDARD_SEED,
            STANDARD_TEST_SIZE,
            format_table,
            run_benchmark,
        )

        if arguments.record and arguments.k != STANDARD_K:
            parser.error(f"--record keeps the course's k = {STANDARD_K} only; drop --k or "
                         "--record.")

        try:
            table = run_benchmark(arguments.models, k=arguments.k, protocol=arguments.protocol)
        except ValueError as error:
            parser.error(str(error))
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
                parser.error(str(error))
            print(f"Recorded {len(table)} row(s) in {path.name}.")
    elif arguments.command == "benchmark-record":
        from recsys_lessons.benchmark import format_table, recorded_benchmark

        try:
            table = recorded_benchmark(protocol=arguments.protocol)
        except ValueError as error:
            parser.error(str(error))
        dates = sorted({row["recorded"] for row in table.attrs["provenance"].values()})
        print(f"Recorded {arguments.protocol} leaderboard, measured on {', '.join(dates)}.")
        print(format_table(table))
    elif arguments.command == "benchmark-metrics":
        from recsys_lessons.benchmark import time_ranking_metrics

        result = time_ranking_metrics()
        print(f"ranking_metrics on {result['num_test_rows']:,} test rows and "
              f"{result['num_recommendation_rows']:,} recommendation rows: "
              f"best {result['best_seconds']:.3f} s, median {result['median_seconds']:.3f} s.")
    elif arguments.command == "fetch":
        import time

        from recsys_lessons.data import default_data_dir, load_movielens

        start = time.perf_counter()
        movielens = load_movielens("100k")
        seconds = time.perf_counter() - start
        print(f"{movielens} loaded and verified in {seconds:.3f} s; cached in "
              f"{default_data_dir() / 'movielens-100k'}")
    elif arguments.command == "student-copies":
        from recsys_lessons.student_copies import write_student_copies

        written = write_student_copies(arguments.notebooks, arguments.output_folder)
        print(f"Wrote {len(written)} student copies to {arguments.output_folder}: "
              + ", ".join(path.name for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
