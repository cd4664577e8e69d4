#!/usr/bin/python3
"""Print a short JSON summary of a metaevo run file, read with h5py (schema: docs/hdf5-schema.md).

Usage: /usr/bin/python3 scripts/read_run.py RUN.h5

Prints one JSON object: schema_version, generations (stored, i.e. complete), population_size,
gene_names, best_fitness (null before the first generation), evaluations_logged (rows of
/evaluations), checkpoint_generation (null without a checkpoint). Exits 1 with a message on
stderr for a missing file, a non-HDF5 file or an HDF5 file that is not a metaevo run.
It shows that the file is readable without metaevo; needs Debian's python3-h5py.
"""
import json
import sys
from pathlib import Path

import h5py

SCHEMA_VERSION = 2


class NotARunFile(Exception):
    pass


def as_text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def require(group: h5py.Group, name: str, where: str):
    if name not in group:
        raise NotARunFile(f"no '{where}/{name}' (not a metaevo run file?)")
    return group[name]


def summarize(run: h5py.File) -> dict:
    if "schema_version" not in run.attrs:
        raise NotARunFile("no root attribute 'schema_version' (not a metaevo run file)")
    schema_version = int(run.attrs["schema_version"])
    if schema_version != SCHEMA_VERSION:
        raise NotARunFile(f"schema_version is {schema_version}, this script reads version {SCHEMA_VERSION}")

    names = require(require(run, "search_space", ""), "name", "/search_space")
    gene_names = [as_text(name) for name in names[()]]

    generations = require(run, "generations", "")
    fitness = require(generations, "fitness", "/generations")
    if fitness.ndim != 2:
        raise NotARunFile(f"/generations/fitness has shape {fitness.shape}, expected [generations, population]")
    rows, population_size = fitness.shape
    # Rows past completed_generations belong to an append that did not finish.
    completed = int(generations.attrs.get("completed_generations", rows))
    stored = max(0, min(completed, rows))

    best_fitness = None
    if "best" in run and "fitness" in run["best"].attrs:
        best_fitness = float(run["best"].attrs["fitness"])

    evaluations_logged = 0
    if "evaluations" in run:
        evaluations_logged = int(require(run["evaluations"], "genome_id", "/evaluations").shape[0])

    checkpoint_generation = None
    if "checkpoint" in run:
        checkpoint_generation = int(run["checkpoint"].attrs["completed_generations"])

    return {
        "schema_version": schema_version,
        "generations": stored,
        "population_size": int(population_size),
        "gene_names": gene_names,
        "best_fitness": best_fitness,
        "evaluations_logged": evaluations_logged,
        "checkpoint_generation": checkpoint_generation,
    }


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: read_run.py RUN.h5", file=sys.stderr)
        return 2
    path = Path(sys.argv[1])
    if not path.is_file():
        print(f"read_run.py: {path}: no such file", file=sys.stderr)
        return 1
    try:
        with h5py.File(path, "r") as run:
            summary = summarize(run)
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
