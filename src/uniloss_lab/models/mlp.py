"""Fully connected ReLU network; the paper's MNIST scorer is 784-500-300-1."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from uniloss.core.checks import check_positive_int, check_positive_int_sequence


class MLP(nn.Module):
    """Multi-layer perceptron that flattens its input and applies ReLU between linear layers.

    Formally, ``f(x) = W_L relu(... relu(W_1 flatten(x) + b_1) ...) + b_L``; there is no activation on the output.
    The defaults give the 784-500-300-1 binary scorer used for MNIST in the UniLoss paper.

    Args:
        in_features: Number of features after flattening all dimensions but the first, e.g. 784 for (B, 1, 28, 28).
        hidden: Widths of the hidden layers, in order; an empty sequence gives a linear model.
        out_features: Number of outputs per sample.

    Shape:
        - Input: ``(B, *)`` where the trailing dimensions multiply to ``in_features``.
        - Output: ``(B,)`` if ``out_features == 1``, else ``(B, out_features)``.

    Raises:
        TypeError: If a size is not an integer, or ``hidden`` is not a sequence.
        ValueError: If a size is not positive, or at forward time if the input does not flatten to ``in_features``.

    Example:
        >>> import torch
        >>> model = MLP()
        >>> model(torch.randn(2, 1, 28, 28)).shape
        torch.Size([2])
        >>> MLP(in_features=8, hidden=(16,), out_features=3)(torch.randn(4, 8)).shape
        torch.Size([4, 3])
    """

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (500, 300), out_features: int = 1) -> None:
        super().__init__()
        self.in_features = check_positive_int("in_features", in_features)
        self.hidden = check_positive_int_sequence("hidden", hidden)
        self.out_features = check_positive_int("out_features", out_features)
        sizes = (self.in_features, *self.hidden)
        layers: list[nn.Module] = [nn.Flatten()]
        for width_in, width_out in itertools.pairwise(sizes):
            layers += [nn.Linear(width_in, width_out), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(sizes[-1], self.out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Score a batch.

        Args:
            inputs: Tensor of shape ``(B, *)`` whose trailing dimensions multiply to ``in_features``.

        Returns:
            Scores of shape ``(B,)`` if ``out_features == 1``, else ``(B, out_features)``.

        Raises:
            ValueError: If ``inputs`` has fewer than 2 dimensions or does not flatten to ``in_features``.
        """
        if inputs.ndim < 2 or math.prod(inputs.shape[1:]) != self.in_features:
            raise ValueError(
                f"`inputs` must have shape (B, *) with trailing dimensions multiplying to "
                f"in_features={self.in_features}, but got {tuple(inputs.shape)}."
            )
        outputs = self.layers(inputs)
        return outputs.squeeze(-1) if self.out_features == 1 else outputs
