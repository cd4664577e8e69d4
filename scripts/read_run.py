#!/usr/bin/python3
"""Print a short JSON summary of a metaevo run file, read with h5py (schema: docs/hdf5-schema.md).

Usage: /usr/bin/python3 scripts/read_run.py RUN.h5
       /usr/bin/python3 scripts/read_run.py RUN.h5 --flatten OUT.h5

A run is the root file RUN.h5 and its segment directory RUN.h5.segments: the rows of /generations
and /evaluations are in the committed segments the root lists under /segments (schema version 3).
`read_dataset(path, run, "generations/fitness")` returns a dataset's rows over every segment, as one
numpy array; plot_run.py uses it. --flatten writes OUT.h5: the root with /generations and
/evaluations as whole datasets (the one-file layout of schema version 2), for h5dump, h5diff or
h5py code that wants one file.

Prints one JSON object: schema_version, generations (stored, i.e. complete), population_size,
gene_names, best_fitness (null before the first generation), evaluations_logged (rows of
/evaluations), checkpoint_generation (null without a checkpoint), evaluation (null until
`metaevo evaluate` stored /evaluation; else its contenders, task_count, inner_steps, tuned
learning_rate per contender and the evolved rule's overall win_rate against each baseline; NaN as
null). `read_evaluation(run)` returns the whole /evaluation group as a dict of numpy arrays and
attributes (plot_evaluation.py uses it). Exits 1 with a message on
stderr for a missing file, a non-HDF5 file or an HDF5 file that is not a metaevo run.
It shows that the file is readable without metaevo; needs Debian's python3-h5py.
"""
import json
import sys
from pathlib import Path

import h5py
import numpy as np

SCHEMA_VERSION = 3
BULK_GROUPS = ("generations", "evaluations")


class NotARunFile(Exception):
    pass


def as_text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def require(group: h5py.Group, name: str, where: str):
    if name not in group:
        raise NotARunFile(f"no '{where}/{name}' (not a metaevo run file?)")
    return group[name]


def segment_list(path: Path, run: h5py.File, group: str):
    """[(segment file, rows)] of the committed segments the root lists, for "generations" or "evaluations"."""
    if "segments" not in run:
        return []
    rows = [int(value) for value in run["segments"][group][()]]
    directory = Path(str(path) + ".segments")
    return [(directory / f"{index:06d}.h5", count) for index, count in enumerate(rows)]


def read_dataset(path: Path, run: h5py.File, name: str) -> np.ndarray:
    """A /generations or /evaluations dataset ("generations/fitness") over every committed segment.

    Only the rows the root lists are read (a segment may hold rows of a later, uncommitted append);
    a dataset missing in some segments (a strategy statistic added later) is NaN there.
    """
    group = name.split("/", 1)[0]
    if group not in BULK_GROUPS:
        return run[name][()]
    parts, template = [], None
    for segment, rows in segment_list(path, run, group):
        if rows == 0:
            continue
        with h5py.File(segment, "r") as part:
            if name in part:
                data = part[name][:rows]
                template = data
            else:
                data = None
            parts.append((rows, data))
    if template is None:
        raise KeyError(f"no dataset '/{name}' in any segment")
    arrays = []
    for rows, data in parts:
        if data is None:
            data = np.full((rows,) + template.shape[1:], np.nan, dtype=template.dtype)
        arrays.append(data)
    return np.concatenate(arrays, axis=0)


def completed_generations(run: h5py.File) -> int:
    return int(run["generations"].attrs.get("completed_generations", 0))


EVALUATION_VERSION = 1


def read_evaluation(run: h5py.File):
    """`metaevo evaluate`'s /evaluation as a dict: every attribute and dataset (strings decoded), or
    None when the run has none. Raises NotARunFile for another version."""
    if "evaluation" not in run:
        return None
    group = run["evaluation"]
    version = int(group.attrs.get("version", -1))
    if version != EVALUATION_VERSION:
        raise NotARunFile(f"/evaluation has version {version}, this script reads version {EVALUATION_VERSION}")
    evaluation = {key: (as_text(value) if isinstance(value, (bytes, str)) else value.item())
                  for key, value in group.attrs.items()}
    for name, dataset in group.items():
        data = dataset[()]
        if dataset.dtype.kind in ("O", "S"):
            data = [as_text(value) for value in data]
        evaluation[name] = data
    return evaluation


def finite_or_none(values) -> list:
    return [float(value) if np.isfinite(value) else None for value in np.asarray(values, dtype=float)]


def flatten(path: Path, run: h5py.File, output: Path) -> None:
    """Writes the run as one file: the root plus /generations and /evaluations as whole datasets."""
    with h5py.File(output, "w") as out:
        for key, value in run.attrs.items():
            out.attrs[key] = value
        for key in run:
            if key not in ("generations", "segments"):
                run.copy(run[key], out, name=key)
        out.create_group("generations")
        for key, value in run["generations"].attrs.items():
            out["generations"].attrs[key] = value
        out.require_group("evaluations")
        for group in BULK_GROUPS:
            names, attributes = [], {}
            for segment, rows in segment_list(path, run, group):
                if rows == 0:
                    continue
                with h5py.File(segment, "r") as part:
                    if group not in part:
                        continue

                    def visit(name, item, group=group):
                        if isinstance(item, h5py.Dataset):
                            full = f"{group}/{name}"
                            if full not in attributes:
                                names.append(full)
                                attributes[full] = dict(item.attrs)

                    part[group].visititems(visit)
            for name in names:
                data = read_dataset(path, run, name)
                if group == "generations":
                    data = data[: completed_generations(run)]
                extents = data.shape[1:]
                chunked = all(extent > 0 for extent in extents) and data.shape[0] > 0
                dataset = out.create_dataset(name, data=data, maxshape=(None,) + extents if chunked else None,
                                             chunks=True if chunked else None)
                for key, value in attributes[name].items():
                    dataset.attrs[key] = value


def summarize(run: h5py.File, path: Path) -> dict:
    if "schema_version" not in run.attrs:
        raise NotARunFile("no root attribute 'schema_version' (not a metaevo run file)")
    schema_version = int(run.attrs["schema_version"])
    if schema_version != SCHEMA_VERSION:
        raise NotARunFile(f"schema_version is {schema_version}, this script reads version {SCHEMA_VERSION}")

    names = require(require(run, "search_space", ""), "name", "/search_space")
    gene_names = [as_text(name) for name in names[()]]

    generations = require(run, "generations", "")
    require(run, "segments", "")
    population_size = int(require(run, "config", "").attrs["population_size"])
    listed = sum(rows for _, rows in segment_list(path, run, "generations"))
    completed = int(generations.attrs.get("completed_generations", 0))
    if listed < completed:
        raise NotARunFile(f"it stores {completed} generations but its segments hold {listed}")
    stored = max(0, completed)
    if stored > 0:
        fitness = read_dataset(path, run, "generations/fitness")
        if fitness.ndim != 2 or fitness.shape[1] != population_size:
            raise NotARunFile(f"/generations/fitness has shape {fitness.shape}, expected [generations, {population_size}]")

    best_fitness = None
    if "best" in run and "fitness" in run["best"].attrs:
        best_fitness = float(run["best"].attrs["fitness"])

    evaluations_logged = sum(rows for _, rows in segment_list(path, run, "evaluations"))

    checkpoint_generation = None
    if "checkpoint" in run:
        checkpoint_generation = int(run["checkpoint"].attrs["completed_generations"])

    evaluation = read_evaluation(run)
    if evaluation is not None:
        evaluation = {
            "contenders": evaluation["contenders"],
            "task_count": int(evaluation["task_count"]),
            "inner_steps": int(evaluation["inner_steps"]),
            "learning_rate": finite_or_none(evaluation["learning_rate"]),
            "win_rate": finite_or_none(evaluation["win_rate"][-1]),  # the last row: all tasks
        }

    return {
        "schema_version": schema_version,
        "generations": stored,
        "population_size": int(population_size),
        "gene_names": gene_names,
        "best_fitness": best_fitness,
        "evaluations_logged": evaluations_logged,
        "checkpoint_generation": checkpoint_generation,
        "evaluation": evaluation,
    }


def main() -> int:
    arguments = sys.argv[1:]
    if len(arguments) not in (1, 3) or (len(arguments) == 3 and arguments[1] != "--flatten"):
        print("usage: read_run.py RUN.h5 [--flatten OUT.h5]", file=sys.stderr)
        return 2
    path = Path(arguments[0])
    if not path.is_file():
        print(f"read_run.py: {path}: no such file", file=sys.stderr)
        return 1
    try:
        with h5py.File(path, "r") as run:
            summary = summarize(run, path)
            if len(arguments) == 3:
                flatten(path, run, Path(arguments[2]))
                return 0
    except NotARunFile as error:
        print(f"read_run.py: {path}: {error}", file=sys.stderr)
        return 1
    except (OSError, KeyError, ValueError, TypeError) as error:
        print(f"read_run.py: {path}: not a readable metaevo run file ({error})", file=sys.stderr)
        return 1
    # repr round-trips a double exactly: the test compares best_fitness to the C++ reader's value.
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
