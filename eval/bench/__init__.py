"""Speed, scale and stress benchmarks: scripts that print figures, apart from the quality harness in eval/."""
