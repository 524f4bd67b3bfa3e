"""From parsed arguments to the API's inputs: the workload, the hardware, the store."""
from __future__ import annotations

from mapper.errors import InputError

NO_MODEL = ("give a model (a zoo name, a layer-list YAML or file.py:Class) or a single layer with "
            "--layer \"K=64 C=64 H=56 W=56 R=3 S=3\".")


def get_workload(args):
    """The model or the --layer of a workload command (exactly one of them)."""
    from mapper import api
    if args.layer is not None and args.model:
        raise InputError(f"give either a model ('{args.model}') or --layer, not both.")
    batch = getattr(args, "batch", 1)
    extra = {k: getattr(args, k, None) for k in ("seq_len", "phase", "input_shape")}
    if args.layer is not None:  # read as a spec, even when empty or garbled
        given = [f"--{k.replace('_', '-')}" for k, v in extra.items() if v is not None]
        if given:
            raise InputError(f"{', '.join(given)} apply to a model, not to --layer; drop them.")
        return api.load_workload(layer_spec(args.layer), batch=batch)
    if not args.model:
        raise InputError(NO_MODEL)
    return api.load_workload(args.model, resolution=args.resolution, batch=batch, **extra)


def layer_spec(text: str):
    from mapper.workload import parse_layer_spec
    return parse_layer_spec(text)


def get_hardware(args):
    from mapper import api
    return api.load_hardware(args.hw)


def check_workers_env() -> None:
    """$MAPPER_WORKERS is read (and checked) before any work, even when --workers is given."""
    from mapper.workers import default_workers
    default_workers()


def open_store(args, readonly: bool = False):
    """The solutions store of --store (default: $MAPPER_STORE or the user cache), or None
    with --no-store. Read-only commands open it read-only: they never create or change it."""
    if getattr(args, "no_store", False):
        return None
    from mapper.store import Store, default_path, warn
    st = Store(args.store or default_path(), readonly=readonly)
    warn(st)
    return st
