#!/usr/bin/env python3
"""Tables for docs/experiments/adversarial-training.md from `seglab attack` folders named MODEL-ATTACK-EPS
(MODEL in clean, at50, at100; ATTACK in pgd, sea, halmosi; EPS as 4_255), each holding robustness.json.

  python3 tools/adversarial_training_tables.py EVAL_DIR [--models clean,at50,at100] [--eps 1_255,2_255,4_255]

Prints, per model, one row per attack (PGD-CE alone, each attack of the SEA and Halmosi protocols alone, and the two
ensembles' per-image worst case) with pixel accuracy / dataset mIoU / image mIoU per radius; the per-image mIoU of each
ensemble (the spread over images); the size-bias table (IoU by object area, clean against the ensemble's worst case);
and which runs are missing. Standard library only.
"""
import json
import math
import os
import sys

MODELS = ["clean", "at50", "at100"]
EPS = ["1_255", "2_255", "4_255"]


def f(v):
    if isinstance(v, str):
        v = float(v)
    return "-" if v is None or math.isnan(v) else f"{v:.1f}"


def triple(m):
    return f"{f(m['pixelAccuracy'])} / {f(m['mIoU'])} / {f(m['imageMIoU'])}"


def mean(v):
    return sum(v) / len(v)


def sd(v):
    m = mean(v)
    return math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else float("nan")


def load(root, model, attack, eps):
    p = os.path.join(root, f"{model}-{attack}-{eps}", "robustness.json")
    if not os.path.exists(p):
        return None
    with open(p) as fh:
        return json.load(fh)


def main(root):
    missing = []
    print("| model | attack | " + " | ".join(e.replace("_", "/") for e in EPS) + " |")
    print("|---|---|" + "---|" * len(EPS))
    for model in MODELS:
        rows = {}
        order = []

        def put(name, eps, text):
            if name not in rows:
                rows[name] = {}
                order.append(name)
            rows[name][eps] = text

        for eps in EPS:
            for attack in ["pgd", "sea", "halmosi"]:
                d = load(root, model, attack, eps)
                if d is None:
                    missing.append(f"{model} {attack} {eps.replace('_', '/')}")
                    continue
                e = d["eps"][0]
                put("clean", eps, triple(e["clean"]))
                for a in e["attacks"]:
                    put(a["attack"] + ("" if attack == "pgd" else f" ({attack})"), eps, triple(a["metrics"]))
                if attack != "pgd":
                    greedy = f" (greedy {f(e['greedyWorstMIoU'])})" if e.get("greedyWorstMIoU") is not None else ""
                    put(f"**{attack.upper()} ensemble**", eps, "**" + triple(e["worstCase"]) + "**" + greedy)
        for name in order:
            print(f"| {model} | {name} | " + " | ".join(rows[name].get(e, "not run") for e in EPS) + " |")

    print("\nPer-image mIoU (clean -> attacked, image by image) of PGD alone and of each ensemble's worst case, with the mean")
    print("and standard deviation over images of the gap to PGD (PGD's image mIoU minus the ensemble's):\n")
    print("| model | attack | eps | images: clean -> attacked | gap to PGD, mean (sd) |")
    print("|---|---|---|---|---|")
    for model in MODELS:
        for eps in EPS:
            pgd = load(root, model, "pgd", eps)
            pgd_by_id = {i["id"]: i["mIoU"] for i in pgd["perImage"]} if pgd else {}
            for attack in ["pgd", "sea", "halmosi"]:
                d = load(root, model, attack, eps)
                if d is None:
                    continue
                if len(d["perImage"]) <= 8:
                    cells = "; ".join(f"{f(i['cleanMIoU'])} -> {f(i['mIoU'])}" for i in d["perImage"])
                else:  # many images: mean (sd) over images, clean -> attacked, and the range attacked
                    att = [i["mIoU"] for i in d["perImage"]]
                    cl = [i["cleanMIoU"] for i in d["perImage"]]
                    cells = (f"{len(att)} images: {f(mean(cl))} ({f(sd(cl))}) -> {f(mean(att))} ({f(sd(att))}), "
                             f"attacked range {f(min(att))}-{f(max(att))}")
                gap = "-"
                if attack != "pgd" and pgd_by_id:
                    g = [pgd_by_id[i["id"]] - i["mIoU"] for i in d["perImage"] if i["id"] in pgd_by_id]
                    if g:
                        gap = f"{f(mean(g))} ({f(sd(g))})"
                print(f"| {model} | {attack} | {eps.replace('_', '/')} | {cells} | {gap} |")

    print("\nSize bias at 4/255 (IoU of objects by area share of the image, clean -> ensemble worst case; objects):\n")
    print("| model | ensemble | " + " | ".join(["<0.1%", "0.1-1%", "1-10%", ">=10%"]) + " | image mIoU - mIoU (clean / worst) |")
    print("|---|---|---|---|---|---|---|")
    for model in MODELS:
        for attack in ["sea", "halmosi"]:
            d = load(root, model, attack, "4_255")
            if d is None:
                continue
            e = d["eps"][0]
            cells = [f"{f(b['cleanIoU'])} -> {f(b['attackedIoU'])} ({b['objects']})" for b in e["sizeBias"]]
            print(f"| {model} | {attack} | " + " | ".join(cells) + f" | {f(e['sizeBiasGapClean'])} / {f(e['sizeBiasGapWorst'])} |")

    print("\nSeconds per run (wall):\n")
    for model in MODELS:
        for attack in ["pgd", "sea", "halmosi"]:
            for eps in EPS:
                d = load(root, model, attack, eps)
                if d is not None:
                    print(f"- {model} {attack} {eps.replace('_', '/')}: {d['seconds']:.0f} s for {d['images']} images")
    if missing:
        print("\nNot run: " + "; ".join(missing))


if __name__ == "__main__":
    args = sys.argv[1:]
    for flag, target in (("--models", "MODELS"), ("--eps", "EPS")):
        if flag in args:
            i = args.index(flag)
            globals()[target] = args[i + 1].split(",")
            del args[i:i + 2]
    main(args[0])
