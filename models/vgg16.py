"""VGG-16 (configuration D), as in torchvision.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, Table 1 column D: 13 3x3 convolutions + 3 FC layers.
AdaptiveAvgPool2d((7, 7)) keeps the classifier valid at any resolution >= 32.
"""
from __future__ import annotations

import torch
from torch import nn

# Output channels of each 3x3 conv; "M" is a 2x2/2 max-pool.
CFG_D: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                          512, 512, 512, "M", 512, 512, 512, "M"]


class VGG16(nn.Module):
    def __init__(self, resolution: int = 224, num_classes: int = 1000) -> None:
        super().__init__()
        self.resolution = resolution
        layers: list[nn.Module] = []
        c_in = 3
        for v in CFG_D:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(c_in, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                c_in = int(v)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))
