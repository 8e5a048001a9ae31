"""What a comparison page needs beyond one run's report: run names and per-group tables.

Why names from differing overrides: runs compared side by side mostly share their config, and a
label like "malot / tiny" is the same for all of them. A run is named by the overrides it does not
share with the others, in full (``prover.sampling.temperature=0.6 prover.budget.samples=16``); runs
without recorded overrides (an in-process run, ``out_dir=``) are named by the summary values that
differ (model, strategy, budget, dataset), and last by their folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Overrides that say where a run went, not what it did.
_PLACE_KEYS = ("hydra.", "out_dir=", "+out_dir=")


def _summary_facets(summary: dict[str, Any]) -> dict[str, str]:
    d = summary.get("dataset") or {}
    return {
        "model": str(summary.get("model", "")),
        "strategy": str(summary.get("strategy", "")),
        "budget": str(summary.get("budget_text", "")),
        "dataset": f"{d.get('name', '')} {d.get('version', '')}/{d.get('split', '')}".strip(),
        "lean": str((summary.get("lean") or {}).get("backend", "")),
    }


def run_names(overrides: Sequence[Sequence[str]], summaries: Sequence[dict[str, Any]],
              folders: Sequence[str]) -> list[str]:
    """One name per run: its differing overrides in full, else its differing summary facets, else its folder.

    An override key one run sets and another does not shows as ``key=(default)`` on the other.
    """
    parsed: list[dict[str, str]] = []
    for ov in overrides:
        kv: dict[str, str] = {}
        for o in ov:
            if o.startswith(_PLACE_KEYS):
                continue
            key, _, value = o.partition("=")
            kv[key.lstrip("+~")] = value
        parsed.append(kv)
    keys = list(dict.fromkeys(k for kv in parsed for k in kv))
    differing = [k for k in keys if len({kv.get(k) for kv in parsed}) > 1]
    names = [" ".join(f"{k}={kv[k]}" if k in kv else f"{k}=(default)" for k in differing) for kv in parsed]
    if len(set(names)) == len(names) and all(names):
        return names
    facets = [_summary_facets(s) for s in summaries]
    differing = [k for k in facets[0] if len({f[k] for f in facets}) > 1] if facets else []
    out = []
    for i, (name, f) in enumerate(zip(names, facets, strict=True)):
        parts = [name] if name else []
        parts += [f"{k}={f[k]}" for k in differing]
        out.append(" ".join(parts) or folders[i])
    if len(set(out)) < len(out):  # still alike (the same config twice): the folder tells them apart
        out = [f"{n} ({folders[i]})" if n != folders[i] else n for i, n in enumerate(out)]
    return out


def group_names(summaries: Sequence[dict[str, Any]], prefix: str) -> list[str]:
    """The groups named ``<prefix>=<value>`` in any of the runs, sorted by value."""
    return sorted({g for s in summaries for g in (s.get("groups") or {}) if g.startswith(prefix + "=")},
                  key=lambda g: g.split("=", 1)[1])


def group_rows(names: Sequence[str], summaries: Sequence[dict[str, Any]], groups: Sequence[str],
               ks: Sequence[int]) -> list[list[str]]:
    """One row per (group, run): problems, solved and pass@k, so each group's runs sit together."""
    rows = []
    for g in groups:
        for name, s in zip(names, summaries, strict=True):
            row = (s.get("groups") or {}).get(g)
            if row is None:
                rows.append([g.split("=", 1)[1], name, "-", "-"] + ["-" for _ in ks])
                continue
            pk = row.get("pass_at_k") or {}
            rows.append([g.split("=", 1)[1], name, str(row["problems"]),
                         f"{row['solved']} ({100 * row['solved_rate']:.1f}%)"]
                        + [f"{100 * pk[str(k)]:.1f}%" if str(k) in pk else "-" for k in ks])
    return rows
