"""A user model for `mapper layers docs/examples/tinynet.py:TinyNet` (see docs/cli.md).

The mapper traces `forward` with torch.fx on meta tensors (no weights are allocated)
and keeps every nn.Conv2d and nn.Linear module: plain convolutions, depthwise ones
(groups == in == out channels) and FC layers. Everything else (BatchNorm, ReLU,
pooling, flatten, additions) is counted under "skipped ops". Functional calls such as
F.conv2d are not mapped: use modules.
"""
from torch import nn


class TinyNet(nn.Module):
    """conv 3x3 -> depthwise 3x3 -> pointwise 1x1 -> global pool -> FC.

    A `resolution` argument is optional; when the constructor has one, the mapper
    passes `--resolution` to it.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(32)
        self.act = nn.ReLU()
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
        self.pw = nn.Conv2d(32, 64, 1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.act(self.bn(self.stem(x)))
        x = self.act(self.pw(self.dw(x)))
        return self.fc(self.pool(x).flatten(1))
