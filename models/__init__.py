"""The model zoo: hand-written canonical networks, image classifiers and token models.

Image models (`MODELS`: the CNNs, the MNIST BNN and ViT-B/16) are built at a resolution:
`build(name, resolution)` returns the module in eval mode and its input shape
(1, 3, resolution, resolution), which is what `mapper.workload.extract` needs; a model
with a fixed input (`input_shape`, e.g. the MNIST BNN) keeps its own. `ZOO` are the
ImageNet CNNs that `mapper zoo --all` and the benchmarks run at any resolution.

Token models (`TOKEN_MODELS`: BERT-base, GPT-2 small, one Llama-3-8B block) are sized by
a sequence length and a phase (`PHASES`): "prefill" runs `seq_len` tokens at once,
"decode" one new token per sequence attending to `seq_len` keys in all (`seq_len - 1` of
them from the KV cache, the `past` argument). `TOKEN_ZOO` is the transformer zoo, ViT
included (its tokens are set by the resolution: (R/16)^2 + 1).

`build_inputs(name, resolution=, seq_len=, phase=, batch=)` takes any name of either kind
and returns the module (eval mode) and the example positional arguments of its forward,
made with `torch.empty` and no device, so that under ``with torch.device("meta"):``
neither weights nor activations are allocated. Bad combinations (a sequence length for
an image model, decode for the BERT encoder, a length beyond the model's context) raise
ValueError saying what to change.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .alexnet import AlexNet
from .bert import BertBase
from .bnn_mnist import BNNMnist
from .darknet19 import DarkNet19
from .gpt2 import GPT2
from .llama import LlamaBlock
from .mobilenetv2 import MobileNetV2
from .resnet50 import ResNet50
from .vgg16 import VGG16
from .vit import ViTB16

MODELS: dict[str, Callable[..., nn.Module]] = {
    "alexnet": AlexNet,
    "vgg16": VGG16,
    "resnet50": ResNet50,
    "darknet19": DarkNet19,
    "mobilenetv2": MobileNetV2,
    "bnn_mnist": BNNMnist,
    "vit_b16": ViTB16,
}
ZOO = ["alexnet", "vgg16", "resnet50", "darknet19", "mobilenetv2"]

TOKEN_MODELS: dict[str, Callable[..., nn.Module]] = {
    "bert_base": BertBase,
    "gpt2": GPT2,
    "llama_block": LlamaBlock,
}
TOKEN_ZOO = ["vit_b16", "bert_base", "gpt2", "llama_block"]
PHASES = ("prefill", "decode")
DEFAULT_SEQ_LEN = {"bert_base": 128, "gpt2": 1024, "llama_block": 1024}


def build(name: str, resolution: int = 224) -> tuple[nn.Module, tuple[int, int, int, int]]:
    """The named zoo model (eval mode) and its input shape (1, 3, res, res)."""
    if name in TOKEN_MODELS:
        raise KeyError(f"{name!r} is a token model, sized by a sequence length and not a resolution; build it "
                       f"with build_inputs({name!r}, seq_len=..., phase=...)")
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    cls = MODELS[name]
    return cls(resolution=resolution).eval(), getattr(cls, "input_shape", (1, 3, resolution, resolution))


def _whole(what: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number, got {value!r}.")
    if value < low:
        raise ValueError(f"{what} must be at least {low}, got {value}.")
    return value


def _image_tokens(name: str, resolution: int) -> str:
    if name == "vit_b16":
        return (f"its tokens are set by --resolution ((R/16)^2+1 = {(resolution // 16) ** 2 + 1} at "
                f"{resolution})")
    return "its work is set by --resolution"


def build_inputs(name: str, *, resolution: int = 224, seq_len: int | None = None, phase: str = "prefill",
                 batch: int = 1) -> tuple[nn.Module, tuple]:
    """The named model (eval mode) and example positional arguments for its forward.

    Image models (`MODELS`): one image batch (batch, 3, res, res), or the model's own
    `input_shape` with the batch in front. Token models (`TOKEN_MODELS`), `batch`
    sequences that share the weights but each have their own KV cache:

    * prefill: `seq_len` tokens per sequence, token ids (batch, seq_len) int64 for
      bert_base and gpt2, hidden states (batch, seq_len, 4096) for llama_block;
    * decode: one new token per sequence (T = 1) attending to `seq_len` keys, that is the
      new input plus `past`, the cache of P = seq_len - 1 tokens: one (k, v) pair per
      layer for gpt2 (each (batch, 12, P, 64)), one pair (batch, 8, P, 128) for llama_block.

    `seq_len` None is `DEFAULT_SEQ_LEN[name]`. Tensors come from `torch.empty` without a
    device: wrap the call in ``with torch.device("meta"):`` to allocate nothing.
    """
    batch = _whole("batch", batch, 1)
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; use one of: {', '.join(PHASES)}.")
    if name in MODELS:
        resolution = _whole("resolution", resolution, 1)
        if seq_len is not None:
            raise ValueError(f"{name} is an image model: {_image_tokens(name, resolution)}, not --seq-len. "
                             f"Leave --seq-len out.")
        if phase != "prefill":
            raise ValueError(f"{name} is an image model: it has no {phase} phase (one forward pass per image). "
                             f"Leave --phase out or use prefill.")
        module, shape = build(name, resolution)
        return module, (torch.empty(batch, *shape[1:]),)
    if name not in TOKEN_MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join([*MODELS, *TOKEN_MODELS])}")
    cls = TOKEN_MODELS[name]
    if name == "bert_base" and phase == "decode":
        raise ValueError("bert_base is an encoder: it reads the whole sequence at once and has no decode phase "
                         "(no KV cache). Use --phase prefill.")
    if seq_len is None:
        seq_len = DEFAULT_SEQ_LEN[name]
    low = 2 if phase == "decode" else 1
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or not low <= seq_len <= cls.context:
        why = (" (decode: the new token plus at least one cached one)" if phase == "decode" else "")
        raise ValueError(f"--seq-len must be a whole number from {low}{why} to {cls.context} "
                         f"({name}'s context), got {seq_len!r}.")
    module = cls().eval()
    T = seq_len if phase == "prefill" else 1
    P = seq_len - T
    if name == "llama_block":
        attn = module.self_attn
        x = torch.empty(batch, T, attn.q_proj.in_features)
        kv = (batch, attn.kv_heads, P, attn.head_dim)
        return module, ((x,) if phase == "prefill" else (x, (torch.empty(kv), torch.empty(kv))))
    ids = torch.empty(batch, T, dtype=torch.long)
    if phase == "prefill":
        return module, (ids,)
    kv = [(batch, blk.attn.heads, P, blk.attn.head_dim) for blk in module.h]  # gpt2: one pair per layer
    return module, (ids, tuple((torch.empty(s), torch.empty(s)) for s in kv))
