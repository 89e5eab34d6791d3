#!/usr/bin/env python3
"""Compare `seglab attack` runs with the official attack code's figures (shared/reference/espnet-camvid_sea_official.json).

Usage: compare_attack_official.py REFERENCE.json RUNS_DIR
RUNS_DIR holds one output folder per reference attack key (apgd_mce_100_norandom, apgd_js_100_norandom,
redeps_mce_300_norandom, padam_ce_200_seed0), each written by `seglab attack ... --out RUNS_DIR/KEY`.
Reads each folder's robustness.state.json (so partial runs count image by image) and prints a markdown table.
"""
import json
import os
import sys


def acc(c):
    return 100.0 * sum(c["tp"]) / c["valid"] if c["valid"] else float("nan")


def miou(c):
    v = [t / (g + p - t) for t, g, p in zip(c["tp"], c["gt"], c["pred"]) if g + p - t > 0]
    return 100.0 * sum(v) / len(v) if v else float("nan")


def main(ref_path, runs):
    ref = json.load(open(ref_path))
    print("| image | attack | pixel acc SegLab / official (diff) | image mIoU SegLab / official (diff) | s/image |")
    print("| --- | --- | --- | --- | --- |")
    for image, per in ref["images"].items():
        for key, want in per.items():
            if key == "clean":
                continue
            state = os.path.join(runs, key, "robustness.state.json")
            if not os.path.exists(state):
                continue
            s = json.load(open(state))
            got = [i for i in s["images"] if i["id"] == image]
            if not got:
                continue
            out = got[0]["perEps"][0]["attacks"][0]
            a, m = acc(out["counts"]), miou(out["counts"])
            print(f"| {image} | {key} | {a:.2f} / {want['pixelAccuracy']:.2f} ({a - want['pixelAccuracy']:+.2f}) | "
                  f"{m:.2f} / {want['imageMIoU']:.2f} ({m - want['imageMIoU']:+.2f}) | {out['seconds']:.0f} |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
