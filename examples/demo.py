"""A first look at UniLoss: the same model trained with UniLoss and with binary cross-entropy, side by side.

The task is average precision (AP) for a rare class: digit 8 against the rest on scikit-learn's embedded
digits (no download), with only a few eights kept in the training split, a linear scorer, and the same
initial weights, batches, optimiser and learning rate for both losses. Each epoch prints the test AP of
both models.

    python examples/demo.py                 # a few seconds on two cores
    python examples/demo.py --epochs 100    # longer: does binary cross-entropy catch up?
"""

from __future__ import annotations

import argparse

import torch

import uniloss
from uniloss_lab.data import load_digits


def rare_class_split(positive: int, positives: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Flattened training and test digits with labels ``digit == positive``, keeping ``positives`` of them."""
    train_images, train_digits = load_digits("train")
    test_images, test_digits = load_digits("test")
    generator = torch.Generator().manual_seed(seed)
    kept = torch.nonzero(train_digits == positive).flatten()
    kept = kept[torch.randperm(len(kept), generator=generator)[:positives]]
    keep = torch.cat([torch.nonzero(train_digits != positive).flatten(), kept])
    return (
        train_images[keep].flatten(1),
        (train_digits[keep] == positive).long(),
        test_images.flatten(1),
        (test_digits == positive).long(),
    )


def batches(labels: torch.Tensor, count: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffle and cut into ``count`` batches, dealing the positives out so that each batch holds one.

    A batch without a positive has no AP to learn from (UniLoss returns a constant loss there).
    """
    positives, negatives = (torch.nonzero(labels == value).flatten() for value in (1, 0))
    positives = positives[torch.randperm(len(positives), generator=generator)].tensor_split(count)
    negatives = negatives[torch.randperm(len(negatives), generator=generator)].tensor_split(count)
    return [torch.cat(parts) for parts in zip(positives, negatives, strict=True)]


def main() -> None:
    """Train both models and print their test AP after every epoch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.1, help="Adam's learning rate, for both losses")
    parser.add_argument("--positives", type=int, default=15, help="eights kept in the training split")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x_train, y_train, x_test, y_test = rare_class_split(8, args.positives, args.seed)
    count = max(1, min(args.positives, len(y_train) // 128))  # batches of about 128 digits
    torch.manual_seed(args.seed)
    models = {"BCE": torch.nn.Linear(64, 1)}
    models["UniLoss"] = torch.nn.Linear(64, 1)
    models["UniLoss"].load_state_dict(models["BCE"].state_dict())  # the same initial weights
    losses = {
        "BCE": torch.nn.BCEWithLogitsLoss(),
        "UniLoss": uniloss.UniLoss(uniloss.metrics.AveragePrecision(), generator=torch.Generator().manual_seed(0)),
    }
    optimisers = {name: torch.optim.Adam(model.parameters(), lr=args.lr) for name, model in models.items()}

    print(
        f"Digit 8 against the rest, trained on {int(y_train.sum())} eights among {len(y_train):,} digits; "
        f"tested on {len(y_test)} held-out digits ({int(y_test.sum())} eights).\n"
        f"Linear scorer, Adam lr {args.lr:g}, {count} batches an epoch, each with an eight; "
        "the same start and batches for both losses.\n"
    )
    print(f"{'epoch':>5}  {'test AP, BCE':>12}  {'test AP, UniLoss':>16}")
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        for batch in batches(y_train, count, generator):
            for name, model in models.items():
                scores = model(x_train[batch]).squeeze(1)
                target = y_train[batch]
                loss = losses[name](scores, target.float() if name == "BCE" else target)
                optimisers[name].zero_grad()
                loss.backward()
                optimisers[name].step()
        with torch.no_grad():
            ap = {
                name: uniloss.exact.average_precision(model(x_test).squeeze(1), y_test)
                for name, model in models.items()
            }
        print(f"{epoch:>5}  {ap['BCE']:>12.4f}  {ap['UniLoss']:>16.4f}")
    print(
        "\nAP asks only that the eights rank above the other digits: UniLoss's loss is built from exactly those"
        "\neight-against-other comparisons, while BCE averages a loss over every digit, nearly all of them not"
        "\neights. One seed of one setting: with plenty of positives BCE often does as well (README, Train and"
        "\ncompare); try --seed, --lr, --positives and --epochs."
    )


if __name__ == "__main__":
    main()
