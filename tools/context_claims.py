#!/usr/bin/env python3
"""The four claims of "Lost in Context" (PAPERS.md B, abstract) from a `seglab context` run folder (records.jsonl).

Usage: tools/context_claims.py RUN_DIR [RUN_DIR ...]   (standard library only; prints Markdown tables)

(a) object share of correctly vs wrongly segmented (recognised) objects (original images; every variant pooled; per class);
(b) object share per variant, and its spread across context modifications relative to the original;
(c) recall drop from the original under context change (mixed_rand, mixed_same) vs context perturbation (ctx:*);
    on the recognition side (a classifier run: recall is NaN) the quality is p(class), the classifier's probability;
(d) context share where the context carries no information (only_fg, bg_*), beside the context's area fraction.
Means are over objects, +- the sample standard deviation over objects; n is the number of objects.
"""
import json
import math
import sys


def load(run):
    with open(f"{run}/records.jsonl") as f:
        lines = [l for l in f.read().split("\n") if l]
    objs = []
    for l in lines[1:]:
        try:
            o = json.loads(l)
        except json.JSONDecodeError:
            continue  # a torn last line of a run in progress
        for r in o["records"]:  # System.Text.Json writes NaN and infinities as strings
            for k, v in r.items():
                if v in ("NaN", "Infinity", "-Infinity"):
                    r[k] = float(v.replace("Infinity", "inf"))
        objs.append(o)
    return objs


def stat(vals):
    v = [x for x in vals if x is not None and isinstance(x, (int, float)) and math.isfinite(x)]
    if not v:
        return float("nan"), float("nan"), 0
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else float("nan")
    return m, sd, len(v)


def fmt(s, pct=True):
    m, sd, n = s
    k = 100 if pct else 1
    if n == 0:
        return "-"
    return f"{k * m:.1f} ± {k * sd:.1f} (n={n})" if n > 1 else f"{k * m:.1f} (n=1)"


def kind(v):
    if v == "original":
        return "original"
    if v in ("mixed_rand", "mixed_same"):
        return "change"
    if v == "no_fg":
        return "removal"
    if v in ("only_fg", "bg_mean", "bg_gaussian", "bg_uniform"):
        return "no-information"
    return "ctx perturbation" if v.startswith("ctx:") else "obj perturbation"


def quality(r):
    """Recall on the segmentation side; the class probability on the recognition side (no recall there)."""
    q = r.get("recall")
    return q if isinstance(q, (int, float)) and math.isfinite(q) else r.get("probability")


def main(runs):
    for run in runs:
        objs = load(run)
        recs = [(o, r) for o in objs for r in o["records"]]
        methods = sorted({r["method"] for _, r in recs})
        variants = []
        for _, r in recs:
            if r["variant"] not in variants:
                variants.append(r["variant"])
        print(f"\n## {run}: {len(objs)} objects in {len({o['image'] for o in objs})} images\n")
        for m in methods:
            R = [(o, r) for o, r in recs if r["method"] == m]
            orig = [r for _, r in R if r["variant"] == "original"]
            print(f"### {m}\n")
            print("(a) object share, correct vs wrong | original | all variants pooled\n--- | --- | ---")
            for split in (True, False):
                print(f"{'correct' if split else 'wrong'} | {fmt(stat(r['objectShare'] for r in orig if r['correct'] == split))} | "
                      f"{fmt(stat(r['objectShare'] for _, r in R if r['correct'] == split))}")
            print(f"area fraction (uniform map) | {fmt(stat(r['areaFraction'] for r in orig))} | ")
            for split in (True, False):
                print(f"concentration (share / area), {'correct' if split else 'wrong'} | "
                      f"{fmt(stat(r['objectShare'] / r['areaFraction'] for r in orig if r['correct'] == split), pct=False)} | "
                      f"{fmt(stat(r['objectShare'] / r['areaFraction'] for _, r in R if r['correct'] == split), pct=False)}")
            wins, both = 0, 0
            for v in {r["variant"] for _, r in R}:
                c = stat(r["objectShare"] for _, r in R if r["variant"] == v and r["correct"])
                w = stat(r["objectShare"] for _, r in R if r["variant"] == v and not r["correct"])
                if c[2] and w[2]:
                    both += 1
                    wins += c[0] > w[0]
            print(f"\nvariants with both correct and wrong objects: {both}; correct objects have the larger mean object share in {wins}\n")
            print("(a) per class, original | correct | wrong | correct %\n--- | --- | --- | ---")
            for c in sorted({o["className"] for o in objs}):
                rc = [r for o, r in R if r["variant"] == "original" and o["className"] == c]
                print(f"{c} | {fmt(stat(r['objectShare'] for r in rc if r['correct']))} | {fmt(stat(r['objectShare'] for r in rc if not r['correct']))} | "
                      f"{100 * sum(r['correct'] for r in rc) / max(1, len(rc)):.0f}")
            print()
            print("(b, c, d) per variant | kind | correct % | recall (or p(class)) % | drop vs original | object share % | context share % | context area %\n--- | --- | --- | --- | --- | --- | --- | ---")
            base = stat(quality(r) for r in orig)[0]
            by_kind = {}
            for v in variants:
                rv = [r for _, r in R if r["variant"] == v]
                if not rv:
                    continue
                rec = stat(quality(r) for r in rv)
                share = stat(r["objectShare"] for r in rv)
                ctx = stat(r["contextShare"] for r in rv)
                area = stat(1 - r["areaFraction"] for r in rv)
                corr = sum(r["correct"] for r in rv) / len(rv)
                by_kind.setdefault(kind(v), []).append((v, rec[0], share[0]))
                print(f"{v} | {kind(v)} | {100 * corr:.0f} | {fmt(rec)} | {100 * (base - rec[0]):.1f} | {fmt(share)} | {fmt(ctx)} | {100 * area[0]:.1f}")
            print("\nby kind (mean over the variants of the kind) | recall (or p(class)) drop vs original | object share | variants\n--- | --- | --- | ---")
            for k, items in by_kind.items():
                print(f"{k} | {100 * (base - sum(x[1] for x in items) / len(items)):.1f} | {100 * sum(x[2] for x in items) / len(items):.1f} | {len(items)}")
            print("\npaired per object (variant - original), mean ± sd over objects | recall (or p(class)) change | object share change\n--- | --- | ---")
            per_obj = {}
            for o, r in R:
                per_obj.setdefault(o["instance"], {})[r["variant"]] = r
            for v in variants[1:]:
                dq = [quality(d[v]) - quality(d["original"]) for d in per_obj.values() if v in d and "original" in d]
                ds = [d[v]["objectShare"] - d["original"]["objectShare"] for d in per_obj.values() if v in d and "original" in d]
                print(f"{v} | {fmt(stat(dq))} | {fmt(stat(ds))}")
            kinds = list(by_kind)
            print("\nper class, mean recall (or p(class)) % by kind | " + " | ".join(kinds) + "\n---" + " | ---" * len(kinds))
            for c in sorted({o["className"] for o in objs}):
                cells = []
                for k in kinds:
                    q = stat(quality(r) for o, r in R if o["className"] == c and kind(r["variant"]) == k)
                    cells.append(f"{100 * q[0]:.1f}")
                print(f"{c} | " + " | ".join(cells))
            print()
            shares = [x[2] for items in by_kind.values() for x in items if math.isfinite(x[2])]
            if shares:
                print(f"\nobject share across all {len(shares)} variants: min {100 * min(shares):.1f}, max {100 * max(shares):.1f}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
