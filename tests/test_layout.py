"""The direction of imports: ingest, ui and eval import rag; rag imports none of them; gradio only in ui/."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_layout__rag_imports_none_of_the_other_packages():
    for path, names in imported_modules("rag").items():
        assert not names & {"ingest", "ui", "eval"}, f"{path} imports {names & {'ingest', 'ui', 'eval'}}"


def test_layout__ingest_does_not_import_ui_or_eval():
    for path, names in imported_modules("ingest").items():
        assert not names & {"ui", "eval"}, path


def test_layout__gradio_is_imported_only_in_ui():
    for package in ("rag", "ingest", "eval"):
        for path, names in imported_modules(package).items():
            assert "gradio" not in names, path


def test_layout__llama_index_chroma_openai_stay_in_their_adapters():
    allowed = {"chromadb": {"rag/store/vectors.py"}, "openai": {"rag/models/chat.py", "rag/models/openai_embed.py"}}
    for package in ("rag", "ingest", "ui"):
        for path, names in imported_modules(package).items():
            for lib, where in allowed.items():
                if lib in names:
                    assert path in where, f"{path} imports {lib}"
