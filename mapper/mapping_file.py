"""Given mappings for `evaluate`: one `Mapping` for every layer, ``{layer name: Mapping}``,
or a mapping YAML (one mapping, or ``layers: {name: mapping}`` with an optional
``default:``). Every mapping is checked against its layer and the hardware first."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mapper.errors import InputError
from mapper.hwspec import Hardware
from mapper.layer import Layer
from mapper.space import Mapping, check_structure

FIELDS_HELP = ("Fields: pkg_split [k,h,w], chip_tile [k,h,w], chip_order, core_split [k,h,w], core_tile [h,w], "
               "core_order (see docs/cli.md).")


def mappings_for(given: Any, layers: list[Layer], hw: Hardware) -> tuple[dict[str, Mapping], str]:
    """Every layer's mapping, and a line saying where they came from."""
    if isinstance(given, Mapping):
        return _checked({L.name: given for L in layers}, layers, hw, "the given mapping"), "the given mapping"
    if isinstance(given, dict) and all(isinstance(v, Mapping) for v in given.values()):
        missing = [L.name for L in layers if L.name not in given]
        if missing:
            raise InputError(f"mappings: no mapping for layer(s) {', '.join(missing[:5])}. Give one per layer.")
        return _checked(dict(given), layers, hw, "the given mappings"), "the given mappings"
    if isinstance(given, (str, Path)):
        return load_mapping_file(given, layers, hw), f"mapping file {given}"
    raise InputError(f"mapping: cannot use a {type(given).__name__}; give a named dataflow (ws, os, is), a "
                     "Mapping, {layer name: Mapping}, or a mapping YAML path.")


def _checked(mappings: dict[str, Mapping], layers: list[Layer], hw: Hardware, where: str) -> dict[str, Mapping]:
    for L in layers:
        why = check_structure(mappings[L.name], L, hw)
        if why:
            raise InputError(f"{where}: mapping for '{L.name}' is invalid: {why}.")
    return mappings


def load_mapping_file(path: str | Path, layers: list[Layer], hw: Hardware) -> dict[str, Mapping]:
    """A mapping YAML: one mapping for every layer, or `layers: {name: mapping}` with an
    optional `default:` mapping for the layers not listed."""
    import yaml
    p = Path(path)
    if p.exists() and not p.is_dir() and not p.is_file():  # a pipe or a device would block or never end
        raise InputError(f"{path}: not a regular file. Give a mapping YAML file.")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such mapping file. Give a mapping YAML or one of the named dataflows: "
                         "ws, os, is.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory. Give a mapping YAML file.") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{path}: cannot read the mapping file ({e.__class__.__name__}). Give a UTF-8 YAML "
                         "text file.") from None
    except yaml.constructor.ConstructorError as e:
        raise InputError(f"{path}: a YAML tag that is not allowed ({' '.join(str(e.problem).split())}): "
                         "only plain YAML (no !!python/... objects) is read. Remove the tag.") from None
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML ({' '.join(str(e).split())}). Fix the syntax.") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping (pkg_split, chip_tile, ...) or `layers: {{name: mapping}}` "
                         "at the top level.")
    per_layer, default = {}, data  # a single mapping applies to every layer
    if "layers" in data or "default" in data:
        per_layer, default = data.get("layers") or {}, data.get("default")
        if not isinstance(per_layer, dict):
            raise InputError(f"{path}: `layers:` must map layer names to mappings.")
        unknown = set(map(str, per_layer)) - {L.name for L in layers}
        if unknown:
            raise InputError(f"{path}: `layers:` names {sorted(unknown)[:5]} match no layer of the model. Fix "
                             "the names (see `mapper layers MODEL`).")
    out = {}
    for L in layers:
        raw = per_layer.get(L.name, default)
        if raw is None:
            raise InputError(f"{path}: no mapping for layer '{L.name}'. Add it under `layers:` or give a "
                             "`default:` mapping.")
        try:
            out[L.name] = Mapping.from_dict(raw)
        except (ValueError, TypeError, OverflowError) as e:
            raise InputError(f"{path}: mapping for '{L.name}': {e}. {FIELDS_HELP}") from None
    return _checked(out, layers, hw, str(path))
