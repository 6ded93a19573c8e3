"""The direction of imports, checked on the source: which package may import which, and where each outside
library may be imported.

- rag imports none of ingest, ui, eval; ingest imports neither ui nor eval; eval imports nothing of ui, so ui and
  eval form no cycle (ui's command line registers eval's subcommands).
- No package imports another package's private module or name (`rag._x`, `from ingest.sync import _prepare`).
- chromadb, openai, llama_index, gradio, fastapi and mcp are imported only in the modules that adapt them.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rag", "ingest", "ui", "eval")


def _imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(module, names) of every absolute import in a file, function-level imports included."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.extend((a.name, ()) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, tuple(a.name for a in node.names)))
    return out


def imported_modules(package: str) -> dict[str, set[str]]:
    """Top-level names each file of `package` imports, by path relative to the project root."""
    return {str(path.relative_to(ROOT)): {module.split(".")[0] for module, _ in _imports(path)}
            for path in (ROOT / package).rglob("*.py")}


def test_layout__rag_imports_none_of_the_other_packages():
    for path, names in imported_modules("rag").items():
        assert not names & {"ingest", "ui", "eval"}, f"{path} imports {names & {'ingest', 'ui', 'eval'}}"


def test_layout__ingest_does_not_import_ui_or_eval():
    for path, names in imported_modules("ingest").items():
        assert not names & {"ui", "eval"}, path


def test_layout__no_cycle_between_ui_and_eval():
    # ui's composition root imports eval.cli to register `newsdesk eval`; eval (benchmarks included) never imports
    # ui back: the benchmarks load the command through its console-script entry point.
    for path, names in imported_modules("eval").items():
        assert "ui" not in names, f"{path} imports ui"
    ui_to_eval = {module for path in (ROOT / "ui").rglob("*.py") for module, _ in _imports(path)
                  if module.split(".")[0] == "eval"}
    assert ui_to_eval <= {"eval.cli"}, ui_to_eval


def test_layout__no_package_imports_another_packages_private_parts():
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for module, names in _imports(path):
                parts = module.split(".")
                if parts[0] not in PACKAGES or parts[0] == package:
                    continue
                private = [p for p in parts if p.startswith("_")] + [n for n in names if n.startswith("_")]
                if private:
                    found.append(f"{path.relative_to(ROOT)}: {module} {private}")
    assert not found, found


# Where each outside library may be imported. Other names in these places are allowed: the modules the HTTP API,
# the MCP server and the llama-index retriever are to live in.
ADAPTERS = {
    "chromadb": {"rag/store/vectors.py"},
    "openai": {"rag/models/calls.py", "rag/models/chat.py", "rag/models/openai_embed.py"},
    "llama_index": {"rag/llama_index.py"},
    "gradio": {"ui/app.py"},
    "fastapi": {"ui/serve.py", "ui/api.py", "ui/mcp_server.py"},
    "mcp": {"ui/serve.py", "ui/api.py", "ui/mcp_server.py"},
}


@pytest.mark.parametrize("library", sorted(ADAPTERS))
def test_layout__outside_libraries_stay_in_their_adapters(library):
    for package in ("rag", "ingest", "ui"):
        for path, names in imported_modules(package).items():
            if library in names:
                assert path in ADAPTERS[library], f"{path} imports {library}"


def test_layout__the_tree_checked_is_the_real_one():
    # The rules above would pass vacuously on an empty tree or a renamed adapter.
    assert "chromadb" in imported_modules("rag")["rag/store/vectors.py"]
    assert "gradio" in imported_modules("ui")["ui/app.py"]
    assert "eval" in imported_modules("ui")["ui/cli.py"]
