"""The model zoo: hand-written canonical networks, each built at a given resolution.

`build(name, resolution)` returns the module in eval mode and its input shape
(1, 3, resolution, resolution), which is what `mapper.workload.extract` needs; a model
with a fixed input (`input_shape`, e.g. the MNIST BNN) keeps its own. `ZOO` are the
ImageNet classifiers that `mapper zoo --all` and the benchmarks run at any resolution.
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from .alexnet import AlexNet
from .bnn_mnist import BNNMnist
from .darknet19 import DarkNet19
from .mobilenetv2 import MobileNetV2
from .resnet50 import ResNet50
from .vgg16 import VGG16

MODELS: dict[str, Callable[..., nn.Module]] = {
    "alexnet": AlexNet,
    "vgg16": VGG16,
    "resnet50": ResNet50,
    "darknet19": DarkNet19,
    "mobilenetv2": MobileNetV2,
    "bnn_mnist": BNNMnist,
}
ZOO = ["alexnet", "vgg16", "resnet50", "darknet19", "mobilenetv2"]


def build(name: str, resolution: int = 224) -> tuple[nn.Module, tuple[int, int, int, int]]:
    """The named zoo model (eval mode) and its input shape (1, 3, res, res)."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    cls = MODELS[name]
    return cls(resolution=resolution).eval(), getattr(cls, "input_shape", (1, 3, resolution, resolution))
