"""Translation: informalise declarations layer by layer, each prompt carrying its dependencies' NL.

One batched generate call per layer; one JSONL record per declaration keyed by name, so a rerun
resumes and reuses the translations already written as context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autoformalize.declarations import Declaration
from autoformalize.library.order import translation_order
from autoformalize.prompts import render
from prover.llm.generator import Generator, SamplingParams
from prover.records import JsonlWriter, iter_jsonl


def informalize_prompt(decl: Declaration, context: dict[str, str], *, template: str = "informalize") -> str:
    """The prompt for one declaration, carrying the NL translations of its in-set dependencies."""
    lines = [f"- `{name}`: {context[name]}" for name in decl.deps if name in context]
    ctx = ("\nInformal meanings of the declarations it uses:\n" + "\n".join(lines) + "\n") if lines else ""
    doc = f"Docstring: {decl.docstring}\n" if decl.docstring else ""
    code = decl.code or f"{decl.kind} {decl.name} {decl.signature}"
    return render(template, context=ctx, name=decl.name, kind=decl.kind, code=code, docstring=doc)


async def ainformalize_library(
    decls: Sequence[Declaration],
    generator: Generator,
    out_path: str | Path,
    *,
    sampling: SamplingParams | None = None,
    template: str = "informalize",
    progress: bool = True,
) -> dict[str, str]:
    """Translate every declaration in dependency order into ``out_path`` (JSONL keyed by ``name``).

    Returns name -> informal text for the whole set (resumed records included).
    """
    from tqdm import tqdm

    by_name = {d.name: d for d in decls}
    layers = translation_order(decls)
    sampling = sampling or SamplingParams(temperature=0.0, max_tokens=256)
    out_path = Path(out_path)
    done: dict[str, str] = {}
    if out_path.exists():
        for row in iter_jsonl(out_path):
            if row.get("name") in by_name:
                done[row["name"]] = str(row.get("informal", ""))
    with JsonlWriter(out_path, key=lambda r: r["name"]) as writer, \
            tqdm(total=len(decls), initial=len(done), desc="informalize", disable=not progress) as bar:
        for depth, layer in enumerate(layers):
            todo = [by_name[n] for n in layer if not writer.done(n)]
            if not todo:
                continue
            prompts = [informalize_prompt(d, done, template=template) for d in todo]
            outs = await generator.agenerate(prompts, sampling)
            for d, o in zip(todo, outs, strict=True):
                text = " ".join(o[0].text.split())
                writer.write({"name": d.name, "kind": d.kind, "informal": text, "depth": depth,
                              "deps": [x for x in d.deps if x in by_name],
                              "context": [x for x in d.deps if x in done], "signature": d.signature})
                done[d.name] = text
                bar.update(1)
    return done


def informalize_library(decls: Sequence[Declaration], generator: Generator, out_path: str | Path,
                        **kw: Any) -> dict[str, str]:
    """Synchronous :func:`ainformalize_library`."""
    return asyncio.run(ainformalize_library(decls, generator, out_path, **kw))
