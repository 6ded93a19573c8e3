"""Speed, scale and stress benchmarks: scripts that print figures, apart from the quality harness in eval/."""

from collections.abc import Callable, Sequence


def newsdesk_main() -> Callable[[Sequence[str] | None], int]:
    """The `newsdesk` command's main(), loaded through its console-script entry point as the installed command
    loads it: the benchmarks drive the program under test from outside, so eval imports nothing of ui (whose
    command line registers eval's subcommands).
    """
    from importlib.metadata import entry_points

    (entry,) = entry_points(group="console_scripts", name="newsdesk")
    main: Callable[[Sequence[str] | None], int] = entry.load()
    return main
