"""eval: the quality harness (suites, metrics, judges, runner, reports, `newsdesk eval`) and, in eval/bench,
the speed, scale and stress benchmarks.
"""
