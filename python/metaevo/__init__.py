"""metaevo in Python: apply an evolved update rule in PyTorch and read run files.

    from metaevo import EvolvedOptimizer, read_run
    optimizer = EvolvedOptimizer(model.parameters(), "best.json")   # `metaevo export RUN.h5 --best`
    run = read_run("runs/quickstart.h5")

See docs/python.md.
"""
from .exported_rule import ExportedRule, load_rule
from .schedule import Schedule

__all__ = ["EvolvedOptimizer", "ExportedRule", "RunFile", "Schedule", "load_rule", "read_run"]

# Imported on first use: the optimizer needs torch, read_run needs h5py, and neither needs the other.
_LAZY = {"EvolvedOptimizer": ".optimizer", "read_run": ".run_file", "RunFile": ".run_file"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'metaevo' has no attribute {name!r}")
