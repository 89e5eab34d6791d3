#!/usr/bin/env python3
"""Markdown tables for docs/experiments/contextrast.md from `seglab train` run folders.

  python3 tools/contextrast_tables.py --arm baseline RUN RUN RUN --arm contextrast RUN RUN RUN

Per arm: mean and sample standard deviation over its runs (seeds) of the final validation (val-metrics.json: dataset
mIoU, image mIoU, pixel accuracy, per-class IoU) and of the run costs (summary.json: training seconds per epoch,
validation excluded, and peak working set), then each run on its own line. Standard library only.
"""
import argparse
import json
import math
import os
import statistics


def mean_sd(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:.2f}"
    return f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs):.2f}"


def load(run):
    with open(os.path.join(run, "summary.json")) as fh:
        s = json.load(fh)
    with open(os.path.join(run, "val-metrics.json")) as fh:
        m = json.load(fh)
    return s, m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arm", nargs="+", action="append", metavar=("NAME", "RUN"), required=True)
    a = ap.parse_args()
    arms = [(x[0], [load(r) + (r,) for r in x[1:]]) for x in a.arm]
    classes = list(arms[0][1][0][1]["perClassIoU"].keys())
    print("| arm | runs | mIoU | image mIoU | pixel accuracy | train s / epoch | peak working set MB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, runs in arms:
        print(f"| {name} | {len(runs)} | {mean_sd([m['mIoU'] for _, m, _ in runs])} | {mean_sd([m['imageMIoU'] for _, m, _ in runs])} | "
              f"{mean_sd([m['pixelAccuracy'] for _, m, _ in runs])} | {mean_sd([s['trainSecondsPerEpoch'] for s, _, _ in runs])} | "
              f"{mean_sd([s['peakWorkingSetMB'] for s, _, _ in runs])} |")
    print()
    print("Per-class IoU (mean ± sd over runs):")
    print()
    print("| class | " + " | ".join(n for n, _ in arms) + " | difference |")
    print("| --- |" + " --- |" * (len(arms) + 1))
    for c in classes:
        cells = [mean_sd([m["perClassIoU"][c] for _, m, _ in runs]) for _, runs in arms]
        means = [statistics.mean([m["perClassIoU"][c] for _, m, _ in runs]) for _, runs in arms]
        diff = f"{means[-1] - means[0]:+.2f}" if len(means) > 1 else ""
        print(f"| {c} | " + " | ".join(cells) + f" | {diff} |")
    print()
    print("Each run (final validation; best = the best validation's mIoU and its step):")
    print()
    print("| arm | run | mIoU | image mIoU | pixel acc | best mIoU (step) | final train loss | train s / epoch | wall min | peak MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, runs in arms:
        for s, m, r in runs:
            print(f"| {name} | {os.path.basename(r.rstrip('/'))} | {m['mIoU']:.2f} | {m['imageMIoU']:.2f} | {m['pixelAccuracy']:.2f} | "
                  f"{s['bestMIoU']:.2f} ({s['bestStep']}) | {s['finalLoss']:.4f} | {s['trainSecondsPerEpoch']:.1f} | {s['totalSeconds'] / 60:.1f} | {s['peakWorkingSetMB']:.0f} |")


if __name__ == "__main__":
    main()
