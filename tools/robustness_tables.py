#!/usr/bin/env python3
"""Markdown tables for docs/experiments/robustness.md from `seglab attack` output folders (robustness.json).

  python3 tools/robustness_tables.py RUN_DIR [RUN_DIR ...] [--size-eps 1/255]

Per run: the images and the wall time; per radius clean and worst-case pixel accuracy, dataset mIoU and image mIoU
(and SEA's greedy worst-case mIoU where the protocol has it); per attack its own numbers, its wins and its cost per
image; the size-bias analysis (IoU and recall by object area, clean against the worst case) at --size-eps (every
radius when not given); and which attack won most often over all radii. Standard library only.
"""
import argparse
import collections
import json
import math
import os


def f(v, digits=2):
    if isinstance(v, str):  # NaN and infinities are written as strings
        v = float(v)
    return "-" if v is None or math.isnan(v) else f"{v:.{digits}f}"


def load(run):
    with open(os.path.join(run, "robustness.json")) as fh:
        return json.load(fh)


def run_tables(run, size_eps):
    d = load(run)
    ids = sorted({p["id"] for p in d["perImage"]})
    total_s = sum(a["secondsPerImage"] for e in d["eps"] for a in e["attacks"]) * d["images"]
    out = [f"### {d['model']}, `{d['protocol']}` ({d['protocolDescription']})", "",
           f"{d['images']} images ({', '.join(ids)}); attack time {total_s / 60:.1f} min in all ({total_s / max(1, d['images']):.0f} s per image over "
           f"all radii, from the per-image records, so resumed runs count in full); run folder `{os.path.basename(run.rstrip('/'))}`.", ""]
    greedy = any(e.get("greedyWorstMIoU") is not None for e in d["eps"]) and d["protocol"] == "sea"
    head = "| eps | pixel acc clean | pixel acc worst | mIoU clean | mIoU worst | image mIoU clean | image mIoU worst |" + (" greedy worst mIoU |" if greedy else "") + " attack s / image |"
    out += [head, "|" + " --- |" * (head.count("|") - 1)]
    for e in d["eps"]:
        c, w = e["clean"], e["worstCase"]
        row = f"| {e['eps']} | {f(c['pixelAccuracy'])} | {f(w['pixelAccuracy'])} | {f(c['mIoU'])} | {f(w['mIoU'])} | {f(c['imageMIoU'])} | {f(w['imageMIoU'])} |"
        if greedy:
            row += f" {f(e.get('greedyWorstMIoU'))} |"
        row += f" {f(sum(a['secondsPerImage'] for a in e['attacks']), 0)} |"
        out.append(row)
    out += ["", "Per attack (each attack's own result over the images; wins = images where it was the worst case):", "",
            "| eps | attack | pixel acc | mIoU | image mIoU | wins | s / image | forwards / image |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    wins = collections.Counter()
    for e in d["eps"]:
        for a in e["attacks"]:
            m = a["metrics"]
            wins[a["attack"]] += a["wins"]
            out.append(f"| {e['eps']} | {a['attack']} | {f(m['pixelAccuracy'])} | {f(m['mIoU'])} | {f(m['imageMIoU'])} | {a['wins']} | {f(a['secondsPerImage'], 0)} | {f(a['forwardsPerImage'], 0)} |")
    chosen = collections.Counter(p["chosen"] for p in d["perImage"])
    out += ["", "Chosen per (image, radius): " + ", ".join(f"{k} {v}" for k, v in chosen.most_common()) + ".", ""]
    out += ["Size bias (objects = (image, class) pairs with ground truth in the area bin; IoU and recall clean -> worst case; gap = image mIoU - dataset mIoU):", "",
            "| eps | area bin | objects | IoU clean | IoU worst | recall clean | recall worst |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for e in d["eps"]:
        if size_eps and e["eps"] not in size_eps:
            continue
        for b in e["sizeBias"]:
            out.append(f"| {e['eps']} | {b['range']} | {b['objects']} | {f(b['cleanIoU'], 1)} | {f(b['attackedIoU'], 1)} | {f(b['cleanRecall'], 1)} | {f(b['attackedRecall'], 1)} |")
        out.append(f"| {e['eps']} | gap | | {f(e['sizeBiasGapClean'], 1)} | {f(e['sizeBiasGapWorst'], 1)} | | |")
    s = d["sanity"]
    out += ["", f"Sanity: {s['gradients']} gradients, {s['zeroGradients']} zero, {s['nonFiniteGradients']} non-finite; ball violations "
            f"{s['ballViolations']}; attack runs above clean {s['attackRunsAboveClean']}; worst above clean {s['worstAboveClean']}; "
            f"largest difference between two forward passes {s['maxForwardDifference']:.2g}" + (f"; warnings: {'; '.join(w.rstrip('.') for w in s['warnings'])}" if s["warnings"] else "") + ".", ""]
    return out, wins


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--size-eps", default="", help="radii (comma-separated, as written in robustness.json) for the size-bias table")
    a = ap.parse_args()
    size_eps = set(x for x in a.size_eps.split(",") if x)
    total = collections.Counter()
    for run in a.runs:
        lines, wins = run_tables(run, size_eps)
        total += wins
        print("\n".join(lines))
    if total:
        print("Wins over all runs and radii: " + ", ".join(f"{k} {v}" for k, v in total.most_common()) + ".")


if __name__ == "__main__":
    main()
