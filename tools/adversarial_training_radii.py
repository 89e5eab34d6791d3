#!/usr/bin/env python3
"""Image-wise robustness over radii for docs/experiments/adversarial-training.md, on the images that every run shares.

  python3 tools/adversarial_training_radii.py EVAL_DIR --models e10-clean,e10-at50-s1,e10-at100 \
      [--eps 1_255,2_255,4_255,8_255] [--attacks pgd,sea,halmosi]

EVAL_DIR holds `seglab attack` folders named MODEL-ATTACK-EPS or MODEL-ATTACK-EPS-n10 (a run on fewer images), each
with robustness.json. Runs at different radii may cover different images (here 20 images at 4/255 and a 10-image
subset of them at the other radii); this script keeps only the image ids present in every run it finds, so that
each cell averages the same images. Per cell: mean image pixel accuracy / mean image mIoU (sd of image mIoU over the
images); per ensemble, the gap to PGD alone image by image (mean and sd). Dataset mIoU is not recomputable on a
subset from robustness.json (it holds per-image scores, not per-image confusion matrices), so it is not printed.
Standard library only.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adversarial_training_tables import mean, sd  # noqa: E402  (the same mean and sample sd as the 4/255 tables)


def load(root, model, attack, eps):
    for suffix in ("", "-n10"):
        p = os.path.join(root, f"{model}-{attack}-{eps}{suffix}", "robustness.json")
        if os.path.exists(p):
            with open(p) as fh:
                d = json.load(fh)
            return {r["id"]: r for r in d["perImage"] if r["eps"] == eps.replace("_", "/")}
    return None


def main(argv):
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    root = argv[0]
    opts = {"--models": None, "--eps": "1_255,2_255,4_255,8_255", "--attacks": "pgd,sea,halmosi"}
    i = 1
    while i < len(argv):
        if argv[i] not in opts or i + 1 >= len(argv):
            print(f"unknown or incomplete option {argv[i]}", file=sys.stderr)
            return 2
        opts[argv[i]] = argv[i + 1]
        i += 2
    if opts["--models"] is None:
        print("--models is required", file=sys.stderr)
        return 2
    models, eps_list, attacks = (opts[k].split(",") for k in ("--models", "--eps", "--attacks"))
    runs = {}
    for m in models:
        for a in attacks:
            for e in eps_list:
                r = load(root, m, a, e)
                if r is not None:
                    runs[(m, a, e)] = r
    if not runs:
        print(f"no runs under {root}", file=sys.stderr)
        return 1
    ids = set.intersection(*(set(r) for r in runs.values()))
    if not ids:
        print("the runs share no image", file=sys.stderr)
        return 1
    ids = sorted(ids)
    print(f"{len(ids)} images shared by all {len(runs)} runs: {', '.join(ids)}")
    print()
    print("| model | attack | " + " | ".join(e.replace("_", "/") for e in eps_list) + " |")
    print("|---|---|" + "---|" * len(eps_list))
    for m in models:
        clean = next((runs[k] for k in runs if k[0] == m), None)
        if clean is None:
            continue
        c_acc = [clean[i]["cleanAccuracy"] for i in ids]
        c_miou = [clean[i]["cleanMIoU"] for i in ids]
        cell = f"{mean(c_acc):.1f} / {mean(c_miou):.1f} ({sd(c_miou):.1f})"
        print(f"| {m} | clean | " + " | ".join(cell for _ in eps_list) + " |")
        for a in attacks:
            cells = []
            for e in eps_list:
                r = runs.get((m, a, e))
                if r is None:
                    cells.append("-")
                    continue
                acc = [r[i]["accuracy"] for i in ids]
                miou = [r[i]["mIoU"] for i in ids]
                text = f"{mean(acc):.1f} / {mean(miou):.1f} ({sd(miou):.1f})"
                p = runs.get((m, "pgd", e))
                if a != "pgd" and p is not None:
                    gap = [p[i]["mIoU"] - r[i]["mIoU"] for i in ids]
                    text += f"; gap {mean(gap):.1f} ({sd(gap):.1f})"
                cells.append(text)
            print(f"| {m} | {a} | " + " | ".join(cells) + " |")
    missing = [f"{m} {a} {e}" for m in models for a in attacks for e in eps_list if (m, a, e) not in runs]
    if missing:
        print()
        print("Not run: " + "; ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
