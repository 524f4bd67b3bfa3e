"""Option groups shared by the commands (defined once), and the argument types that check
every value before any work starts: numbers in range, output paths writable."""
from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

from mapper.choices import (FIXED_CHOICES, MAX_BATCH, MAX_CYCLES, MAX_EXTENT, MAX_RESOLUTION, MAX_SECONDS,
                            MAX_SEED, MAX_SEQ_LEN, MAX_WORKERS, PHASES)

ZOO_NAMES = "alexnet, vgg16, resnet50, darknet19, mobilenetv2, bnn_mnist, vit_b16; token models bert_base, gpt2, " \
    "llama_block"


# ------------------------------------------------------------------ value types
def _int_in(text: str, low: int, high: int, what: str) -> int:
    t = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", t):  # ASCII digits only: no 1_000, 0x40, 1e3 or other scripts' digits
        raise argparse.ArgumentTypeError(f"{what} must be a whole number from {low:,} to {high:,}, got '{text}'")
    v = int(t)
    if not low <= v <= high:
        raise argparse.ArgumentTypeError(f"{what} must be a whole number from {low:,} to {high:,}, got {text}")
    return v


def int_range(low: int, high: int, what: str = "the value"):
    def parse(text: str) -> int:
        return _int_in(text, low, high, what)
    parse.__name__ = "whole number"
    return parse


def input_shape(text: str) -> tuple[int, ...]:
    """'1,128,768' -> (1, 128, 768): the shape of one float input of a Python model."""
    parts = [p for p in re.split(r"[,x×\s]+", text.strip()) if p]
    if not 1 <= len(parts) <= 8:
        raise argparse.ArgumentTypeError(f"an input shape is 1 to 8 whole numbers separated by commas, e.g. "
                                         f"1,128,768; got '{text}'")
    return tuple(_int_in(p, 1, MAX_EXTENT, "each dimension of --input-shape") for p in parts)


def positive_int(text: str) -> int:
    return _int_in(text, 1, MAX_CYCLES, "the value")


def seconds(text: str) -> float:
    """A time limit: a positive finite number of seconds, at most a week."""
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and 0 < v <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(f"a time limit is a positive number of seconds up to {MAX_SECONDS:,} "
                                         f"(a week), got '{text}'; e.g. 60")
    return v


def positive_number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got '{text}'")
    return v


def seed(text: str) -> int:
    return _int_in(text, 0, MAX_SEED, "a seed")


# ------------------------------------------------------------------ output paths
def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_file(value: str | None, flag: str) -> None:
    """An output file path that can be written: not a directory, and its folder exists or
    can be made in a writable place. Checked before any work starts."""
    if not value:
        return
    path = Path(value)
    from mapper.errors import InputError
    try:
        if path.is_dir():
            raise InputError(f"{flag} {value}: is a directory; give a file path (e.g. {path / 'report.md'}).")
        anc = _nearest_existing(path.parent) if not path.exists() else path
        if anc != path and not anc.is_dir():
            raise InputError(f"{flag} {value}: {anc} is a file, not a folder. Give a path in a folder.")
        if not os.access(anc, os.W_OK):
            raise InputError(f"{flag} {value}: {anc} is not writable. Give a writable path.")
    except (OSError, ValueError) as e:
        raise InputError(f"{flag} {value}: not a usable path ({e}). Give a writable file path.") from None


def check_output_dir(value: str | None, flag: str) -> None:
    """An output folder: a directory (or a path where one can be made), writable."""
    if not value:
        return
    path = Path(value)
    from mapper.errors import InputError
    try:
        if path.exists() and not path.is_dir():
            raise InputError(f"{flag} {value}: is a file, but a folder is meant. Give a directory path.")
        anc = _nearest_existing(path)
        if not anc.is_dir():
            raise InputError(f"{flag} {value}: {anc} is a file, not a folder. Give a directory path.")
        if not os.access(anc, os.W_OK):
            raise InputError(f"{flag} {value}: {anc} is not writable. Give a writable directory.")
    except (OSError, ValueError) as e:
        raise InputError(f"{flag} {value}: not a usable path ({e}). Give a writable directory.") from None


# ------------------------------------------------------------------ option groups
def workload_args(sp: argparse.ArgumentParser, batch: bool = True) -> None:
    sp.add_argument("model", nargs="?", help=f"zoo name ({ZOO_NAMES}), a layer-list YAML, or file.py:Class")
    sp.add_argument("--layer", help='one layer instead of a model, e.g. "K=64 C=64 H=56 W=56 R=3 S=3 stride=1" '
                    "(H, W: output plane)")
    resolution_arg(sp)
    if batch:
        sp.add_argument("--batch", type=int_range(1, MAX_BATCH, "--batch"), default=1,
                        help="images (token models: concurrent sequences, which share weights but not KV "
                        "caches) per inference (default 1)")
    token_args(sp)
    sp.add_argument("--input-shape", type=input_shape, action="append", metavar="SHAPE",
                    help="a Python model's input shape, e.g. 1,128,768 (repeat for several inputs; "
                    "default: one batch x 3 x R x R image)")


def token_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--seq-len", type=int_range(1, MAX_SEQ_LEN, "--seq-len"),
                    help="token models: tokens of context (prefill: tokens processed; decode: keys attended "
                    "to, the new token's included) (default: the model's, e.g. gpt2 1024)")
    sp.add_argument("--phase", choices=PHASES,
                    help="token models: prefill (all tokens at once) or decode (one new token per sequence on "
                    "a KV cache) (default prefill)")


def resolution_arg(sp: argparse.ArgumentParser, many: bool = False) -> None:
    kind = int_range(1, MAX_RESOLUTION, "--resolution")
    if many:
        sp.add_argument("--resolution", type=kind, nargs="+", default=[224],
                        help="one or more input resolutions (default 224)")
    else:
        sp.add_argument("--resolution", type=kind, default=224, help="input resolution (default 224)")


def hardware_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--hw", required=True, help="hardware YAML (path or bundled name)")


def json_arg(sp: argparse.ArgumentParser, help: str = "print one JSON object, nothing else") -> None:
    sp.add_argument("--json", action="store_true", help=help)


def quiet_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--quiet", action="store_true", help="no progress bar (for logs)")


def time_limit_arg(sp: argparse.ArgumentParser, help: str, default: float | None = 60.0,
                   flag: str = "--time-limit") -> None:
    sp.add_argument(flag, type=seconds, default=default, help=help)


def workers_arg(sp: argparse.ArgumentParser, help: str = "CP-SAT workers (default: $MAPPER_WORKERS or the "
                "core count)") -> None:
    sp.add_argument("--workers", type=int_range(1, MAX_WORKERS, "--workers"), default=None, help=help)


def fixed_args(sp: argparse.ArgumentParser) -> None:
    for key, what in (("package", "the package partition"), ("chiplet", "the chiplet partition"),
                      ("chip_order", "the chiplet loop order"), ("core_order", "the core loop order")):
        sp.add_argument("--" + key.replace("_", "-"), choices=FIXED_CHOICES[key], help=f"fix {what}")


def fixed_from(args) -> dict[str, str]:
    return {k: getattr(args, k) for k in FIXED_CHOICES if getattr(args, k)}


def report_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--report", help="also write a Markdown report to this path")


def store_args(sp: argparse.ArgumentParser, no_store: bool = True) -> None:
    sp.add_argument("--store", help="the solutions store file (default: $MAPPER_STORE or "
                    "~/.cache/mapper/solutions.sqlite)")
    if no_store:
        sp.add_argument("--no-store", action="store_true", help="neither read nor write the store")
