"""DarkNet-19, the YOLOv2 classification backbone.

Redmon & Farhadi, "YOLO9000: Better, Faster, Stronger", CVPR 2017, Table 6:
19 convolutions (3x3 "same" and 1x1 bottlenecks, each + BatchNorm + leaky ReLU 0.1)
and 5 2x2/2 max-pools, then a 1x1 conv to 1000 classes and a global average pool.
"""
from __future__ import annotations

import torch
from torch import nn

# (out_channels, kernel) per conv; "M" is a 2x2/2 max-pool. Table 6 of the paper.
CFG: list[tuple[int, int] | str] = [
    (32, 3), "M", (64, 3), "M",
    (128, 3), (64, 1), (128, 3), "M",
    (256, 3), (128, 1), (256, 3), "M",
    (512, 3), (256, 1), (512, 3), (256, 1), (512, 3), "M",
    (1024, 3), (512, 1), (1024, 3), (512, 1), (1024, 3),
]


class DarkNet19(nn.Module):
    def __init__(self, resolution: int = 224, num_classes: int = 1000) -> None:
        super().__init__()
        self.resolution = resolution
        layers: list[nn.Module] = []
        c_in = 3
        for v in CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            c_out, k = v  # type: ignore[misc]
            layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False),
                       nn.BatchNorm2d(c_out), nn.LeakyReLU(0.1, inplace=True)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(c_in, num_classes, 1)  # the 19th conv; linear activation
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.classifier(self.features(x))), 1)
