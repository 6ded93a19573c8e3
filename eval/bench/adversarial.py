"""Does answer verification catch unsupported sentences? An adversarial set built from the sample articles.

    python -m eval.bench.adversarial [--scorers offline,model,align] [--per-window 1] [--json]

Each sample article (ingest/sample) is cut into passages of five sentences. From each passage one sentence
(picked by SHA-1) becomes a one-sentence draft citing that passage, in three forms: as it stands (verification
should keep it), and with one fact changed by eval.perturb (one number, date, name, negation or antonym, two
names swapped) or replaced by a sentence of another article (off-topic): verification should drop those.
Verification runs as in answering (rag.verify.check.verify, re-citation on), over the cited passage and the
two that follow it, so an unsupported sentence may also be rescued by re-citing it to a neighbour.

Prints, per scorer, the share of changed sentences caught per kind, the share of unchanged ones kept, and the
time per claim sentence.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.perturb import KINDS, perturb
from rag.types import Passage
from rag.verify.check import verify
from rag.verify.support import SupportScorer, split_sentences

SAMPLE = Path(__file__).resolve().parents[2] / "ingest" / "sample"
WINDOW = 5


def sample_articles(folder: Path = SAMPLE) -> list[tuple[str, str]]:
    """(id, text) of the sample articles: the .txt pages and the records of the .jsonl files."""
    out = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.txt"))]
    for p in sorted(folder.glob("*.jsonl")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                out.append((str(rec.get("id")), str(rec["text"])))
    return out


def build_cases(articles: Sequence[tuple[str, str]], per_window: int = 1) -> list[dict[str, Any]]:
    """Cases `{"article", "passages", "sentence", "kind", "expect_kept"}`; kind "original" or one of KINDS."""
    cases = []
    for n, (aid, text) in enumerate(articles):
        sentences = [s for s in split_sentences(text) if len(s.split()) >= 3]
        windows = [sentences[i : i + WINDOW] for i in range(0, len(sentences), WINDOW)]
        other = articles[(n + 1) % len(articles)][1]
        for w, window in enumerate(windows):
            passages = [" ".join(x) for x in windows[w : w + 3]]
            candidates = [s for s in window if 8 <= len(s.split()) <= 45]
            candidates.sort(key=lambda s: hashlib.sha1(f"{aid}|{s}".encode()).hexdigest())
            for sentence in candidates[:per_window]:
                cases.append({"article": aid, "passages": passages, "sentence": sentence, "kind": "original",
                              "expect_kept": True})
                for kind in KINDS:
                    rng = random.Random(int(hashlib.sha1(f"{aid}|{sentence}|{kind}".encode()).hexdigest(), 16))
                    changed = perturb(sentence, text, other, rng, kinds=(kind,))
                    if changed:
                        cases.append({"article": aid, "passages": passages, "sentence": changed[0], "kind": kind,
                                      "expect_kept": False})
    return cases


def run_cases(cases: Sequence[dict[str, Any]], scorer: SupportScorer) -> dict[str, Any]:
    by_kind: dict[str, list[bool]] = {}
    started = time.perf_counter()
    for i, case in enumerate(cases):
        passages = [Passage(f"c{i}-{j}", case["article"], t, 0, len(t), "", 1.0)
                    for j, t in enumerate(case["passages"])]
        kept = bool(verify(f"{case['sentence']} [1]", passages, scorer).kept)
        by_kind.setdefault(case["kind"], []).append(kept == case["expect_kept"])
    seconds = time.perf_counter() - started
    changed = [ok for kind, oks in by_kind.items() if kind != "original" for ok in oks]
    return {
        "kept_original": round(sum(by_kind.get("original", [])) / max(1, len(by_kind.get("original", []))), 4),
        "caught_changed": round(sum(changed) / max(1, len(changed)), 4),
        "caught_by_kind": {k: {"n": len(v), "caught": round(sum(v) / len(v), 4)}
                           for k, v in sorted(by_kind.items()) if k != "original"},
        "n": len(cases), "ms_per_draft_sentence": round(1000 * seconds / max(1, len(cases)), 1),
    }


def make_scorer(name: str) -> SupportScorer:
    if name == "offline":
        from rag.verify.support import OfflineSupportScorer

        return OfflineSupportScorer()
    if name == "model":
        from rag.verify.cross_judge import CrossSupportScorer

        return CrossSupportScorer()
    if name == "align":
        from rag.verify.judge_model import ModelSupportScorer

        return ModelSupportScorer()
    raise SystemExit(f"error: unknown scorer {name!r}; use offline, model or align")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.bench.adversarial", description=__doc__.split("\n")[0])
    ap.add_argument("--scorers", default="offline,model")
    ap.add_argument("--per-window", type=int, default=1, help="sentences taken from each passage")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cases = build_cases(sample_articles(), args.per_window)
    results = {name: run_cases(cases, make_scorer(name)) for name in args.scorers.split(",") if name}
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    kinds = sorted({k for r in results.values() for k in r["caught_by_kind"]})
    print(f"{len(cases)} one-sentence drafts from {len(sample_articles())} sample articles "
          "(verification with re-citation; caught = dropped)")
    print(f"{'scorer':<8} {'kept orig':>9} {'caught':>7} " + " ".join(f"{k:>9}" for k in kinds) + "  ms/sentence")
    for name, r in results.items():
        cells = " ".join(f"{r['caught_by_kind'].get(k, {}).get('caught', float('nan')):>9.3f}" for k in kinds)
        print(f"{name:<8} {r['kept_original']:>9.3f} {r['caught_changed']:>7.3f} {cells}  {r['ms_per_draft_sentence']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
