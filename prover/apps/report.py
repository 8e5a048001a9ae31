"""``proofforge-report``: eval run folders as Markdown + self-contained HTML; several runs are compared."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evals.report import ReportError, write_comparison, write_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="proofforge-report",
        description="Render eval run folders as Markdown + self-contained HTML; several runs are compared.",
    )
    parser.add_argument("runs", nargs="+", help="eval run folder(s) holding outcomes.jsonl, or one sweep (multirun) folder")
    parser.add_argument("--out", default=None,
                        help="where a comparison goes (default: <first run>/comparisons/vs_<the others>); "
                             "one run reports into its own folder")
    args = parser.parse_args(argv)
    try:
        from evals.sweep_report import is_sweep_dir, write_sweep_report

        if len(args.runs) == 1 and args.out is None and is_sweep_dir(Path(args.runs[0])):
            paths = write_sweep_report(args.runs[0])  # a multirun folder: one table over its jobs
        elif len(args.runs) == 1 and args.out is None:
            paths = write_report(args.runs[0], need_results=True)
        else:
            paths = write_comparison(args.runs, args.out)
    except ReportError as e:
        from prover.exit_codes import INPUT

        print(f"proofforge-report: {e}", file=sys.stderr)
        return INPUT
    print(f"wrote {paths['markdown']} and {paths['html']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
