"""read_run: a metaevo run file (RUN.h5 and its segment directory RUN.h5.segments/) read with
h5py into plain Python and numpy values. Layout: docs/hdf5-schema.md (schema version 3)."""
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

SCHEMA_VERSION = 3


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_text(v) for v in value.tolist()]
    return value.item() if isinstance(value, np.generic) else value


def _attributes(item) -> dict:
    return {key: _text(value) for key, value in item.attrs.items()}


@dataclass
class RunFile:
    """What a run file holds. `generations` maps each /generations dataset ("fitness", "genes",
    "genome_id", "decoded/learning_rate", ...) to its rows over all segments, one row per completed
    generation ([G, P] or [G, P, ...]); `best` is /best (attributes, "genes" and "decoded": scalar
    genes as numbers or strings, blocks as arrays) or None before the first generation; `config` is
    /config's attributes ("toml" the whole configuration)."""

    path: Path
    schema_version: int
    metaevo_version: str
    config: dict
    gene_names: list
    search_space: dict
    completed_generations: int
    generations: dict = field(default_factory=dict)
    best: dict = None
    holdout: dict = None
    # The float32 MLP kernel of the process that wrote the file: "avx2-fma" or "generic" ("" for
    # files written before the attribute existed, which used "generic"); see METAEVO_SIMD.
    float32_kernel: str = ""

    @property
    def fitness(self) -> np.ndarray:
        """[G, P]: lower is better; NaN where an evaluation failed."""
        return self.generations.get("fitness", np.zeros((0, self.config.get("population_size", 0))))


def _segment_rows(root: h5py.File, group: str):
    return [int(rows) for rows in root["segments"][group][()]] if "segments" in root else []


def _generation_datasets(path: Path, root: h5py.File, completed: int) -> dict:
    """Every /generations dataset over the committed segments, cut at `completed` rows. A dataset
    that a segment lacks (a statistic added later) is NaN (floats) or -1 (integers) there."""
    directory = Path(str(path) + ".segments")
    parts = []  # (rows, {name: array})
    for index, rows in enumerate(_segment_rows(root, "generations")):
        if rows == 0:
            continue
        arrays = {}
        with h5py.File(directory / f"{index:06d}.h5", "r") as segment:
            if "generations" in segment:
                def visit(name, item, arrays=arrays, rows=rows):
                    if isinstance(item, h5py.Dataset):
                        data = item[:rows]
                        arrays[name] = data.astype(str) if item.dtype.kind in ("O", "S") else data
                segment["generations"].visititems(visit)
        parts.append((rows, arrays))
    names = []
    for _, arrays in parts:
        names += [name for name in arrays if name not in names]
    datasets = {}
    for name in names:
        template = next(arrays[name] for _, arrays in parts if name in arrays)
        filler = np.nan if template.dtype.kind == "f" else -1
        pieces = [arrays[name] if name in arrays else np.full((rows,) + template.shape[1:], filler, template.dtype)
                  for rows, arrays in parts]
        datasets[name] = np.concatenate(pieces, axis=0)[:completed]
    return datasets


def read_run(path) -> RunFile:
    """Reads RUN.h5 (and RUN.h5.segments/). Raises ValueError for a file that is not a metaevo run
    of schema version 3, OSError for one h5py cannot open."""
    path = Path(path)
    with h5py.File(path, "r") as root:
        if "schema_version" not in root.attrs:
            raise ValueError(f"{path}: no root attribute 'schema_version' (not a metaevo run file)")
        version = int(root.attrs["schema_version"])
        if version != SCHEMA_VERSION:
            raise ValueError(f"{path}: schema_version is {version}, this reader reads {SCHEMA_VERSION}")
        space = root["search_space"]
        search_space = {"size": int(space.attrs["size"])}
        for name in ("name", "kind", "low", "high", "group", "choices"):
            search_space[name] = _text(space[name][()])
        if "blocks" in space:
            search_space["blocks"] = {name: _text(space["blocks"][name][()]) for name in space["blocks"]}
        completed = int(root["generations"].attrs.get("completed_generations", 0))
        best = None
        if "best" in root:
            group = root["best"]
            best = _attributes(group)
            if "genes" in group:
                best["genes"] = group["genes"][()]
            if "decoded" in group:
                decoded = _attributes(group["decoded"])
                decoded.update({name: dataset[()] for name, dataset in group["decoded"].items()})
                best["decoded"] = decoded
        return RunFile(
            path=path,
            schema_version=version,
            metaevo_version=_text(root.attrs.get("metaevo_version", "")),
            config=_attributes(root["config"]),
            gene_names=list(search_space["name"]),
            search_space=search_space,
            completed_generations=completed,
            generations=_generation_datasets(path, root, completed),
            best=best,
            holdout=_attributes(root["holdout"]) if "holdout" in root else None,
            float32_kernel=_text(root.attrs.get("float32_kernel", "")),
        )
