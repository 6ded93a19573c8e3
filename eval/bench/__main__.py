"""`python -m eval.bench ...`: the speed and scale benchmarks (see eval/bench/speed.py)."""

from eval.bench.speed import main

if __name__ == "__main__":
    raise SystemExit(main())
