"""Bad input fuzzed at scale: 10,000 mutated experiment, suite and topology files (not collected by pytest).

    flock /tmp/cachechaos-heavy.lock .venv/bin/python tests/benchmarks/bench_fuzz_inputs.py [--cases 10000] [--seed 0]

Each case (tests/hardening/input_fuzz.py) goes through `cachechaos validate` and, when rejected,
through the loading path of `run` / `run --topology` / `gate`, in-process. Prints the count of each
outcome and one example of every bad one; target: 0 tracebacks, 0 exits other than 0 and 2, every
rejection naming file and line. Exits 1 when a case had a bad outcome.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.hardening.input_fuzz import GOOD, OUTCOMES, cases, check_case, make_workspace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    examples: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = make_workspace(Path(tmp) / "ws")

        # Generation only: a bad case is counted, not shrunk.
        @seed(args.seed)
        @settings(max_examples=args.cases, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(cases())
        def run(case: tuple[str, str, bytes]) -> None:
            verdict = check_case(workspace, *case)
            counts[verdict.outcome] += 1
            kinds[case[1]] += 1
            if verdict.outcome not in GOOD:
                examples.setdefault(verdict.outcome, f"{case[0]}: {verdict.detail}\n    input: {case[2][:200]!r}")

        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
    total = sum(counts.values())
    print(f"{total} cases ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}) in {elapsed:.0f} s")
    for outcome in OUTCOMES:
        print(f"{counts[outcome]:>7}  {outcome}")
    for outcome, example in examples.items():
        print(f"\n{outcome}, e.g. {example}")
    return 1 if examples else 0


if __name__ == "__main__":
    sys.exit(main())
