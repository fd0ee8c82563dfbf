"""Does a from_function metric train as well as the hand-written refactoring? A study on real data.

For each metric (AP and F1 of class 0 against the rest, accuracy, top-3 accuracy, P@10 of class 0 against the
rest), model (linear, MLP 784/64-128-out) and dataset (scikit-learn's digits, embedded; Fashion-MNIST from
``/usr/share/datasets/fashion-mnist``, its first ``--fashion-train`` training images), train with UniLoss of the
hand-written metric and of the same metric written as plain code (``uniloss.from_function``), both with the
hand-written metric's default parts, Adam, batch 128, three seeds; report the exact test metric, mean and
standard deviation over the seeds. The loop is a plain one over the library (the lab's loop evaluates only its
task's metric, and top-3 accuracy and P@10 are no lab task). P@10 is measured on queries of 100 test images.

    OMP_NUM_THREADS=1 python benchmarks/from_function_study.py                     # the table of docs/metric_as_code.md
    OMP_NUM_THREADS=1 python benchmarks/from_function_study.py --datasets digits --seeds 0
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from pathlib import Path

import torch

import uniloss
from uniloss import exact
from uniloss_lab.data import load_digits, load_fashion_mnist


def average_precision(scores, labels):
    rel = labels[scores.argsort(descending=True)].float()
    precision = rel.cumsum(0) / torch.arange(1, len(rel) + 1)
    return (precision * rel).sum() / rel.sum().clamp(min=1)


def accuracy(scores, classes):
    return (scores.argmax(1) == classes).float().mean()


def top_3_accuracy(scores, classes):
    return (scores.topk(3, dim=1).indices == classes[:, None]).any(1).float().mean()


def precision_at_10(scores, labels):
    return labels[scores.topk(10).indices].float().mean()


def f1(scores, labels):
    predicted, actual = scores > 0, labels.bool()
    tp = (predicted & actual).sum().float()
    wrong = (predicted != actual).sum().float()
    return torch.where(tp > 0, 2 * tp / (2 * tp + wrong).clamp(min=1), tp * 0)


def _groups(size):
    return torch.zeros(size, dtype=torch.long)


METRICS = {  # name -> (plain code, hand-written metric, outputs, binary task, extra targets, test metric)
    "ap": (average_precision, uniloss.metrics.AveragePrecision(), 1, True, (), exact.average_precision),
    "f1": (f1, uniloss.metrics.F1(), 1, True, (), exact.f1),
    "accuracy": (accuracy, uniloss.metrics.Accuracy(num_classes=10), 10, False, (), exact.accuracy),
    "top3": (
        top_3_accuracy,
        uniloss.metrics.TopKAccuracy(10, top_k=3),
        10,
        False,
        (),
        lambda s, y: exact.top_k_accuracy(s, y, top_k=3),
    ),
    "p@10": (
        precision_at_10,
        uniloss.metrics.PrecisionAtK(10),
        1,
        True,
        (_groups,),
        lambda s, t: exact.precision_at_k(s, t, torch.arange(len(s)) // 100, top_k=10),
    ),
}


def data(name, fashion_train):
    if name == "digits":
        (x, y), (xt, yt) = load_digits("train"), load_digits("test")
    else:
        (x, y), (xt, yt) = load_fashion_mnist("train"), load_fashion_mnist("test")
        x, y = x[:fashion_train], y[:fashion_train]
    return x.flatten(1), y, xt.flatten(1), yt


def model(kind, inputs, outputs):
    if kind == "linear":
        return torch.nn.Linear(inputs, outputs)
    return torch.nn.Sequential(torch.nn.Linear(inputs, 128), torch.nn.ReLU(), torch.nn.Linear(128, outputs))


def run(metric_name, version, model_kind, dataset, seed, epochs, fashion_train):
    fn, hand, outputs, binary, extra, test_metric = METRICS[metric_name]
    x, y, xt, yt = data(dataset, fashion_train)
    if binary:
        y, yt = (y == 0).long(), (yt == 0).long()
    torch.manual_seed(seed)
    net = model(model_kind, x.shape[1], outputs)
    metric = hand if version == "hand" else uniloss.from_function(fn)
    criterion = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(seed), **vars(hand.default_parts()))
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=order).split(128):
            if len(batch) < 16:
                continue
            scores = net(x[batch])
            scores = scores.squeeze(1) if outputs == 1 else scores
            targets = (y[batch], *(make(len(batch)) for make in extra)) if version == "hand" else (y[batch],)
            loss = criterion(scores, *targets)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        scores = net(xt)
        return float(test_metric(scores.squeeze(1) if outputs == 1 else scores, yt))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--metrics", nargs="+", default=list(METRICS))
    parser.add_argument("--models", nargs="+", default=["linear", "mlp"])
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, nargs=2, default=[15, 2], help="epochs on digits, on Fashion-MNIST")
    parser.add_argument("--fashion-train", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=Path("from_function_study.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for dataset in args.datasets:
        epochs = args.epochs[0] if dataset == "digits" else args.epochs[1]
        for model_kind in args.models:
            for metric_name in args.metrics:
                row = {"dataset": dataset, "model": model_kind, "metric": metric_name}
                for version in ("hand", "auto"):
                    values = [
                        run(metric_name, version, model_kind, dataset, seed, epochs, args.fashion_train)
                        for seed in args.seeds
                    ]
                    row[version] = values
                rows.append(row)
                hand, auto = row["hand"], row["auto"]
                spread = statistics.stdev(hand) if len(hand) > 1 else 0.0
                print(
                    f"| {dataset} | {model_kind} | {metric_name} | {statistics.mean(hand):.3f} ± {spread:.3f} | "
                    f"{statistics.mean(auto):.3f} ± {statistics.stdev(auto) if len(auto) > 1 else 0.0:.3f} |",
                    flush=True,
                )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    args.out.write_text(json.dumps({"commit": commit, "args": vars(args) | {"out": str(args.out)}, "rows": rows}))


if __name__ == "__main__":
    main()
