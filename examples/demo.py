"""A first look at UniLoss: the loss, its gradient, and the exact metric next to the surrogate.

Fits a linear model to scikit-learn's embedded digits (digit 0 against the rest, average precision) with
the UniLoss surrogate of AP, printing the surrogate metric (1 - loss) next to the exact AP of the batch.

    python examples/demo.py
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits

import uniloss


def main() -> None:
    """Run the example."""
    torch.manual_seed(0)
    digits = load_digits()
    features = torch.tensor(digits.data, dtype=torch.float32) / 16
    labels = torch.tensor(digits.target == 0, dtype=torch.long)

    criterion = uniloss.UniLoss(uniloss.metrics.AveragePrecision(), generator=torch.Generator().manual_seed(0))
    print(criterion)
    model = torch.nn.Linear(64, 1)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    print(f"{'step':>4}  {'loss':>7}  {'surrogate AP':>12}  {'exact AP':>8}  {'|grad|':>8}")
    for step in range(101):
        batch = torch.randint(0, len(labels), (128,))
        logits = model(features[batch]).squeeze(1)
        loss = criterion(logits, labels[batch])
        optimiser.zero_grad()
        loss.backward()
        if step % 20 == 0:
            exact = uniloss.functional.average_precision(logits.detach(), labels[batch])
            grad = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
            print(f"{step:>4}  {loss.item():7.4f}  {1 - loss.item():12.4f}  {exact.item():8.4f}  {grad.item():8.2e}")
        optimiser.step()
    with torch.no_grad():
        test_ap = uniloss.functional.average_precision(model(features).squeeze(1), labels)
    print(f"AP of digit 0 vs rest on all 1,797 digits after 100 steps: {test_ap.item():.4f}")


if __name__ == "__main__":
    main()
