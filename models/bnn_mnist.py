"""A small binarised MLP for MNIST, the kind of network an in-memory-computing macro runs.

Zhang & Verma (JETCAS 2019, Zhang and Verma, JETCAS 2019) map "a reduced size
BNN, chosen to fit on the CMOS prototype" for MNIST; the seed does not give its layers,
so this one is ours: 784-256-256-10, fully connected (an IMC array computes a
matrix-vector product, which is what an FC layer is), weights and hidden activations
binarised (sign) as in BinaryNet (Courbariaux et al. 2016). Binarisation does not change
the shapes the mapper sees; the bit widths are the hardware's (hardware/imc-bnn.yaml).
The input is one 28 x 28 grey image, whatever `resolution` is asked for.
"""
from __future__ import annotations

import torch
from torch import nn


class SignActivation(nn.Module):
    """Binarise to +-1 (forward only: the zoo needs shapes, not training)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


class BNNMnist(nn.Module):
    input_shape = (1, 1, 28, 28)  # one grey MNIST digit (the resolution argument is ignored)

    def __init__(self, resolution: int = 28, num_classes: int = 10, hidden: int = 256) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, hidden, bias=False), nn.BatchNorm1d(hidden), SignActivation(),
            nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), SignActivation(),
            nn.Linear(hidden, num_classes, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
