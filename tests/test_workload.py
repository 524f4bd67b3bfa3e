"""Workload extraction: the zoo against published MAC counts, and every user-facing error."""
from __future__ import annotations

import math

import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from mapper import models
from mapper.layer import Layer
from mapper.workload import (
    Workload,
    WorkloadError,
    expand_groups,
    extract,
    load_layers_yaml,
    load_workload,
    parse_layer_spec,
    unique_layers,
)

ZOO = ["alexnet", "vgg16", "resnet50", "darknet19", "mobilenetv2"]

# Published multiply-accumulate counts at 224x224 (conv + FC layers). Sources:
PUBLISHED_MACS = {
    # torchvision model docs, ResNet50_Weights.IMAGENET1K_V1: "GFLOPS 4.09" (torchvision
    # counts one multiply-add as one FLOP). He et al. 2016, Table 1, give 3.8e9 "FLOPs"
    # (multiply-adds) for the original ResNet-50, whose stride 2 sits on the first 1x1 conv
    # of a stage; moving it there in our model gives 3.86e9. The torchvision ("v1.5")
    # variant we build strides in the 3x3 conv, so that conv runs on a 4x larger plane.
    "resnet50": 4.09e9,
    # torchvision docs, VGG16_Weights.IMAGENET1K_V1: "GFLOPS 15.47" (= GMACs).
    # Cross-check: Redmon & Farhadi 2017 (Sec. 3) give 30.69e9 operations = 2 x 15.35e9
    # conv MACs; our 15.47e9 adds the 0.12e9 of the three FC layers.
    "vgg16": 15.47e9,
    # torchvision docs, AlexNet_Weights.IMAGENET1K_V1: "GFLOPS 0.71"; the hand count for
    # this single-tower variant is 0.714e9 (conv 0.656e9 + FC 0.059e9).
    "alexnet": 0.714e9,
    # Sandler et al. 2018, Table 4: MobileNetV2 (1.0, 224) has 300M multiply-adds.
    "mobilenetv2": 300e6,
    # Redmon & Farhadi 2017, Sec. 3 / Table 6: DarkNet-19 needs "5.58 billion operations"
    # at 224. That counts a multiply and an add as two operations (the same paper's VGG-16
    # figure, 30.69e9, is twice VGG-16's 15.35e9 conv MACs), so it is 2.79e9 MACs.
    "darknet19": 5.58e9 / 2,
}


@pytest.fixture(scope="module")
def zoo() -> dict[tuple[str, int], Workload]:
    return {(m, r): load_workload(m, r) for m in ZOO for r in (224, 512)}


# --- the zoo --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ZOO)
def test_zoo_macs_match_published(zoo, name):
    w = zoo[(name, 224)]
    assert w.model == name and w.resolution == 224
    assert w.total_macs == pytest.approx(PUBLISHED_MACS[name], rel=0.02)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_extracts_at_512(zoo, name):
    small, big = zoo[(name, 224)], zoo[(name, 512)]
    assert [l.name for l in big.layers] == [l.name for l in small.layers]
    assert big.layers[0].H > small.layers[0].H
    # Conv work grows with the plane, roughly by (512/224)^2 = 5.2; FC work does not.
    assert 3.5 < big.total_macs / small.total_macs < 5.3


def test_build_registry():
    module, shape = models.build("resnet50", 320)
    assert shape == (1, 3, 320, 320) and not module.training
    with pytest.raises(KeyError, match="alexnet"):
        models.build("resnet51")


def test_layer_counts(zoo):
    def kinds(w: Workload) -> dict[str, int]:
        out: dict[str, int] = {}
        for lay in w.layers:
            out[lay.kind] = out.get(lay.kind, 0) + 1
        return out

    assert kinds(zoo[("resnet50", 224)]) == {"conv": 53, "fc": 1}
    assert kinds(zoo[("vgg16", 224)]) == {"conv": 13, "fc": 3}
    assert kinds(zoo[("alexnet", 224)]) == {"conv": 5, "fc": 3}
    assert kinds(zoo[("darknet19", 224)]) == {"conv": 19}  # 18 + the 1x1 classifier conv
    mb = kinds(zoo[("mobilenetv2", 224)])
    assert mb["depthwise"] == 17 and mb["fc"] == 1
    assert all(l.groups == l.C == l.K for l in zoo[("mobilenetv2", 224)].layers if l.kind == "depthwise")


def test_specific_shapes(zoo):
    r50 = {l.name: l for l in zoo[("resnet50", 224)].layers}
    assert r50["conv1"] == Layer("conv1", K=64, C=3, H=112, W=112, R=7, S=7, stride=2, padding=3)
    c = r50["layer1.0.conv2"]
    assert (c.K, c.C, c.H, c.W, c.R, c.S, c.stride, c.padding) == (64, 64, 56, 56, 3, 3, 1, 1)
    assert r50["layer2.0.conv2"].stride == 2 and r50["layer2.0.conv2"].H == 28
    assert r50["fc"] == Layer("fc", K=1000, C=2048, H=1, W=1, kind="fc")
    vgg = zoo[("vgg16", 512)].layers
    assert (vgg[0].name, vgg[0].H, vgg[0].W, vgg[0].C) == ("features.0", 512, 512, 3)
    assert vgg[13].C == 512 * 7 * 7  # AdaptiveAvgPool keeps the classifier at any resolution


def test_skipped_ops_are_counted(zoo):
    sk = zoo[("resnet50", 224)].skipped
    # one ReLU after the stem + 3 per bottleneck x 16; 16 residual additions.
    assert sk["ReLU"] == 49 and sk["add"] == 16 and sk["BatchNorm2d"] == 53
    assert sk["MaxPool2d"] == 1 and sk["flatten"] == 1
    assert zoo[("vgg16", 224)].skipped["MaxPool2d"] == 5


def test_unique_layers_resnet50(zoo):
    layers = zoo[("resnet50", 224)].layers
    uniq = unique_layers(layers)
    shapes = {(l.K, l.C, l.H, l.W, l.R, l.S, l.stride, l.padding, l.dilation, l.groups, l.N)
              for l in layers}
    assert 15 <= len(uniq) <= 30 and len(uniq) == len(shapes)
    assert sum(len(names) for _, names in uniq) == len(layers)
    assert uniq[0][0].name == "conv1" and uniq[0][1] == ["conv1"]
    # The three identical later blocks of layer1 share their shapes with block 0's convs.
    by_name = {n: names for _, names in uniq for n in names}
    assert by_name["layer1.1.conv2"] == ["layer1.0.conv2", "layer1.1.conv2", "layer1.2.conv2"]


# --- extraction of user modules -----------------------------------------------------------

class _Tiny(nn.Module):
    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))


def test_grouped_conv_is_expanded():
    w = extract(_Tiny(nn.Conv2d(64, 128, 3, padding=1, groups=4)), (2, 64, 8, 8))
    assert [l.name for l in w.layers] == ["conv.g0", "conv.g1", "conv.g2", "conv.g3"]
    assert all((l.K, l.C, l.groups, l.N, l.H) == (32, 16, 1, 2, 8) for l in w.layers)
    assert w.total_macs == 2 * 128 * 16 * 8 * 8 * 9  # same work as the grouped conv
    assert w.skipped == {"relu": 1}
    dw = extract(_Tiny(nn.Conv2d(32, 32, 3, padding=1, groups=32)), (1, 32, 8, 8)).layers
    assert len(dw) == 1 and dw[0].kind == "depthwise"


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_asymmetric_conv_settings():
    """An asymmetric stride is not a layer of the model: the conv is reported with its MACs
    (and a model of nothing else is refused, naming it). Padding only describes the padded
    window the cost model reads, so an asymmetric one keeps the larger side."""
    with pytest.raises(WorkloadError, match="conv2d.*asymmetric stride"):
        extract(_Tiny(nn.Conv2d(8, 8, 3, stride=(2, 1))), (1, 8, 16, 16))
    two = nn.Sequential(nn.Conv2d(8, 8, 3, stride=(2, 1)), nn.Conv2d(8, 8, 1))
    wl = extract(two, (1, 8, 16, 16))
    assert [u.op for u in wl.unmapped] == ["conv2d"]
    assert wl.unmapped[0].macs == 8 * 8 * 9 * 7 * 14  # K*C*R*S*H_out*W_out, by hand
    assert wl.total_macs == 8 * 8 * 7 * 14 and wl.mac_coverage < 1
    for conv, pad in ((nn.Conv2d(8, 8, 3, padding=(1, 0)), 1), (nn.Conv2d(8, 8, (3, 5), padding="same"), 2)):
        lay = extract(_Tiny(conv), (1, 8, 16, 16)).layers[0]
        assert lay.padding == pad and lay.macs == 8 * 8 * math.prod(conv.kernel_size) * lay.H * lay.W
    lay = extract(_Tiny(nn.Conv2d(8, 8, 3, stride=(2, 2), padding=(1, 1))),
                  (1, 8, 16, 16)).layers[0]
    assert (lay.stride, lay.padding, lay.H) == (2, 1, 8)
    lay = extract(_Tiny(nn.Conv2d(8, 8, 3, padding="same", dilation=2)), (1, 8, 16, 16)).layers[0]
    assert (lay.padding, lay.dilation, lay.H) == (2, 2, 16)


def test_linear_reused_module_and_original_untouched():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(16, 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(self.proj(x).flatten(1).view(-1, 4, 16))

    net = Net()
    w = extract(net, (2, 4, 16))
    assert [l.name for l in w.layers] == ["proj", "proj@2"]
    # the 2 x 4 rows go on the plane (H), where the weights are reused across them
    assert all((l.kind, l.N, l.H, l.W, l.K, l.C) == ("fc", 1, 8, 1, 16, 16) for l in w.layers)
    assert w.skipped == {"flatten": 1, "view": 1}
    assert net.proj.weight.device.type == "cpu"  # extraction works on a meta copy


def test_extract_errors():
    class NoLayers(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x)

    with pytest.raises(WorkloadError, match="no convolution or matrix product"):
        extract(NoLayers(), (1, 3, 8, 8))
    with pytest.raises(WorkloadError, match="dimension N is 0"):
        extract(_Tiny(nn.Conv2d(3, 8, 3)), (0, 3, 8, 8))
    with pytest.raises(WorkloadError, match="resolution"):
        load_workload("alexnet", 32)


# --- one-line specs --------------------------------------------------------------------

def test_parse_layer_spec_good():
    lay = parse_layer_spec("K=64 C=64 H=56 W=56 R=3 S=3 stride=1")
    assert lay == Layer("layer", K=64, C=64, H=56, W=56, R=3, S=3)
    lay = parse_layer_spec("name=dw, k=32, c=32, h = 28, w=28, r=3, s=3, padding=1, groups=32, N=4")
    assert (lay.name, lay.kind, lay.groups, lay.N, lay.padding) == ("dw", "depthwise", 32, 4, 1)
    assert parse_layer_spec("K=1000 C=2048 H=1 W=1 kind=fc", name="fc").kind == "fc"
    g = parse_layer_spec("K=64 C=64 H=8 W=8 groups=4")
    assert g.groups == 4 and len(expand_groups(g)) == 4


@pytest.mark.parametrize("spec, match", [
    ("K=64 C=64 H=56", "missing field 'W'"),
    ("K=64 C=64 H=56 W=56 Q=3", "unknown key 'Q'.*Valid keys: name, K, C"),
    ("K=64 C=64 H=56 W=5.5", "W='5.5' is not a whole number"),
    ("K=64 C=64 H=56 W=56 R", "key=value"),
    ("K=0 C=64 H=56 W=56", "'K' is 0.*at least 1"),
    ("K=64 C=64 H=56 W=56 padding=-1", "'padding' is -1.*at least 0"),
    ("K=64 C=48 H=56 W=56 groups=32", "groups=32 must divide both C=48 and K=64"),
    ("K=64 C=64 H=56 W=56 R=3 S=3 padding=3", "padding=3 is more than the kernel reaches"),
    ("K=64 C=64 H=56 W=56 K=32", "given twice"),
    ("K=64 C=64 H=56 W=56 kind=pool", "valid kinds"),
    ("K=64 C=64 H=56 W=56 kind=fc", "kind 'fc' needs"),
    ("K=64 C=64 H=56 W=56 kind=depthwise", "does not match"),
    ("", "empty"),
])
def test_parse_layer_spec_bad(spec, match):
    with pytest.raises(WorkloadError, match=match):
        parse_layer_spec(spec)


def test_padding_zero_allowed_and_dilated_reach():
    assert parse_layer_spec("K=8 C=8 H=8 W=8 padding=0").padding == 0
    assert parse_layer_spec("K=8 C=8 H=8 W=8 R=3 S=3 dilation=2 padding=2").padding == 2


# --- YAML layer lists ------------------------------------------------------------------

GOOD_YAML = """\
model: my-net          # optional
layers:
  - {name: conv1, K: 64, C: 3, H: 112, W: 112, R: 7, S: 7, stride: 2, padding: 3}
  - {name: grp, K: 64, C: 64, H: 56, W: 56, R: 3, S: 3, padding: 1, groups: 2}
  - {name: dw, K: 64, C: 64, H: 56, W: 56, R: 3, S: 3, padding: 1, groups: 64}
  - {name: fc, K: 1000, C: 2048, H: 1, W: 1, kind: fc}
"""


def _write(tmp_path: Path, text: str, name: str = "net.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_load_layers_yaml_good(tmp_path):
    w = load_layers_yaml(_write(tmp_path, GOOD_YAML))
    assert w.model == "my-net" and w.resolution is None and w.skipped == {}
    assert [l.name for l in w.layers] == ["conv1", "grp.g0", "grp.g1", "dw", "fc"]
    assert w.layers[0] == Layer("conv1", K=64, C=3, H=112, W=112, R=7, S=7, stride=2, padding=3)
    assert w.layers[3].kind == "depthwise" and w.layers[4].kind == "fc"
    # load_workload dispatches on the extension; the default model name is the file stem
    w2 = load_workload(str(_write(tmp_path, "layers:\n  - {K: 8, C: 8, H: 4, W: 4}\n", "b.yml")))
    assert w2.model == "b" and w2.layers[0].name == "layer0"


@pytest.mark.parametrize("text, match", [
    ("layers: [ {K: 64, C: 3", "not valid YAML"),
    ("model: x\n", "missing the top-level 'layers'"),
    ("- {K: 1, C: 1, H: 1, W: 1}\n", "missing the top-level 'layers'"),
    ("layers: []\n", "non-empty list"),
    ("layers: {K: 1}\n", "non-empty list"),
    ("modle: x\nlayers:\n  - {K: 8, C: 8, H: 4, W: 4}\n", "unknown top-level key 'modle'"),
    ("layers:\n  - 42\n", r"layers\[0\] is 42"),
    ("layers:\n  - {K: 8, C: 8, H: 4, W: 4}\n  - {name: c2, K: 8, C: 8, H: 4, W: 4, Stride: 2}\n",
     r"layers\[1\] \('c2'\): unknown field 'Stride'"),
    ("layers:\n  - {name: a, K: 8, C: 8, H: 4.5, W: 4}\n", r"layers\[0\] \('a'\): field 'H' must be a whole number"),
    ("layers:\n  - {name: a, K: '8', C: 8, H: 4, W: 4}\n", "field 'K' must be a whole number"),
    ("layers:\n  - {name: a, K: true, C: 8, H: 4, W: 4}\n", "field 'K' must be a whole number"),
    ("layers:\n  - {name: a, K: 8, C: 0, H: 4, W: 4}\n", r"\('a'\): field 'C' is 0"),
    ("layers:\n  - {name: a, K: 8, C: 8, H: -4, W: 4}\n", "field 'H' is -4"),
    ("layers:\n  - {name: a, K: 8, C: 8, W: 4}\n", r"\('a'\): missing field 'H'"),
    ("layers:\n  - {name: a, K: 8, C: 8, H: 4, W: 4}\n  - {name: a, K: 8, C: 8, H: 4, W: 4}\n",
     "used twice"),
])
def test_load_layers_yaml_bad(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(WorkloadError, match=match) as err:
        load_layers_yaml(path)
    assert str(path) in str(err.value)


def test_load_layers_yaml_missing_file(tmp_path):
    with pytest.raises(WorkloadError, match="cannot read"):
        load_layers_yaml(tmp_path / "nope.yaml")
    with pytest.raises(WorkloadError, match="not found"):
        load_workload(str(tmp_path / "nope.yaml"))


# --- load_workload: zoo names, python files, bad specs ------------------------------------

USER_MODEL = """\
import torch
from torch import nn


class MyNet(nn.Module):
    def __init__(self, resolution: int = 224):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        return self.head(x.mean((2, 3)))


def make():
    return nn.Sequential(nn.Conv2d(3, 8, 1))


def broken():
    raise RuntimeError("boom")
"""


def test_load_workload_python_file(tmp_path):
    path = _write(tmp_path, USER_MODEL, "user_net.py")
    w = load_workload(f"{path}:MyNet", resolution=64)
    assert w.model == "user_net:MyNet" and w.resolution == 64
    assert [(l.name, l.kind, l.H) for l in w.layers] == [("stem", "conv", 32), ("head", "fc", 1)]
    assert w.skipped == {"relu": 1, "mean": 1}
    assert load_workload(f"{path}:make", resolution=8).layers[0].name == "0"
    with pytest.raises(WorkloadError, match="has no 'Nope'.*MyNet, make, broken"):
        load_workload(f"{path}:Nope")
    with pytest.raises(WorkloadError, match="calling broken\\(\\) failed.*boom"):
        load_workload(f"{path}:broken")
    with pytest.raises(WorkloadError, match="does not exist"):
        load_workload(f"{tmp_path / 'missing.py'}:MyNet")
    bad = _write(tmp_path, "import nonexistent_pkg_xyz\n", "bad.py")
    with pytest.raises(WorkloadError, match="importing .* failed"):
        load_workload(f"{bad}:X")


@pytest.mark.parametrize("spec", ["resnet51", "net.py", "net.onnx", ""])
def test_load_workload_unknown_spec(spec):
    with pytest.raises(WorkloadError, match="alexnet, vgg16, resnet50, darknet19, mobilenetv2"):
        load_workload(spec)


@pytest.mark.parametrize("code, call, match", [
    ("import sys\nsys.exit(0)\n", "X", r"importing .* called sys.exit\(0\).*__main__"),
    ("exit(3)\n", "X", r"called sys.exit\(3\)"),
    ("x = input('size? ')\n", "X", r"importing .* read from standard input"),
    ("import sys\nsys.stdin.read()\nraise SystemExit('no input')\n", "X", r"called sys.exit\('no input'\)"),
    ("raise ValueError('bad' * 1000)\n", "X", r"importing .* failed \(ValueError: badbad.*\.\.\..*\)\. Fix"),
    ("import sys\ndef make():\n    sys.exit(0)\n", "make", r"calling make\(\) called sys.exit\(0\)"),
    ("def make():\n    return input()\n", "make", r"calling make\(\) read from standard input"),
    ("def make():\n    raise KeyError('k')\n", "make", r"calling make\(\) failed \(KeyError"),
])
def test_model_file_that_exits_reads_stdin_or_raises(tmp_path, code, call, match):
    """A model file's code may not end the process, wait on stdin or leak a traceback."""
    path = _write(tmp_path, code, "net.py")
    with pytest.raises(WorkloadError, match=match):
        load_workload(f"{path}:{call}")


def test_model_file_reading_fd_0_does_not_hang(tmp_path):
    """Standard input is /dev/null while the user's code runs, even for a raw read of fd 0
    and even when the real stdin is a pipe nobody writes to."""
    import subprocess
    import sys

    path = _write(tmp_path, "import os\nos.read(0, 10)\nraise ValueError('read done')\n", "net.py")
    script = ("from mapper.workload import load_workload, WorkloadError\n"
              f"try:\n    load_workload({str(path) + ':X'!r})\n"
              "except WorkloadError as e:\n    print(e)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        proc.wait(timeout=120)  # stdin stays open: a read of the real fd 0 would block
        out = proc.stdout.read()
    finally:
        proc.kill()
        proc.stdin.close()
        proc.stdout.close()
    assert "failed (ValueError: read done)" in out
