"""The exported update rule: the JSON document `metaevo export RUN.h5 --best` writes (format
"metaevo-update-rule", version 2; version 1, which has no architecture or blocks, is read too),
with every hyperparameter and architecture option the document leaves out filled in with the
family's default, as metaevo does (include/metaevo/rules/exported_rule.hpp).
"""
import json
import os
from dataclasses import dataclass, field

FORMAT = "metaevo-update-rule"
READABLE_VERSIONS = (1, 2)

# The schedule hyperparameters every family shares (src/rules/update_rule.cpp).
SCHEDULE_DEFAULTS = {"schedule": "constant", "warmup_fraction": 0.1, "final_lr_fraction": 0.0}

_ADAM = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
_LEARNED = {"learning_rate": 1e-3, "adam_weight": 1.0, "scale": 1.0, "alpha": 1.0, "epsilon": 1e-8}

# Each registered family's own hyperparameters and their defaults, as metaevo registers them
# (`metaevo families` lists them; the golden-trace test checks these against metaevo's).
FAMILY_DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov": {"learning_rate": 1e-2, "momentum": 0.9},
    "adam": {"learning_rate": 1e-3, **_ADAM},
    "adamw": {"learning_rate": 1e-3, **_ADAM, "weight_decay": 1e-2},
    "rmsprop": {"learning_rate": 1e-2, "alpha": 0.99, "epsilon": 1e-8},
    "lion": {"learning_rate": 1e-4, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0},
    "blend": {
        "learning_rate": 1e-3, "weight_gradient": 0.0, "weight_momentum": 0.0, "weight_nesterov": 0.0,
        "weight_adam": 1.0, "weight_signsgd": 0.0, "weight_signum": 0.0, "weight_lion": 0.0,
        "momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "lion_beta1": 0.9, "lion_beta2": 0.99,
        "clip_norm": 0.0, "weight_decay": 0.0,
    },
    "learned_mlp": dict(_LEARNED),
    "learned_rnn": dict(_LEARNED),
}

ARCHITECTURE_DEFAULTS = {
    "learned_mlp": {"hidden_sizes": [16], "init_seed": 0},
    "learned_rnn": {"hidden_size": 16, "init_seed": 0},
}


@dataclass
class ExportedRule:
    """An update rule as exported: its family, every hyperparameter, the architecture, the gene
    blocks by name (a learned rule's weights, as lists of floats) and the inner-loop length its
    schedule was searched for. `source` is where it came from (run file, genome, fitness)."""

    family: str
    hyperparameters: dict
    architecture: dict = field(default_factory=dict)
    blocks: dict = field(default_factory=dict)
    inner_steps: int = 1
    source: dict = field(default_factory=dict)


def load_rule(rule) -> ExportedRule:
    """An ExportedRule from a path to the JSON file, the JSON text, an already parsed dict, or an
    ExportedRule (returned as is). Raises ValueError naming what is wrong."""
    if isinstance(rule, ExportedRule):
        return rule
    if isinstance(rule, (str, os.PathLike)):
        text = str(rule)
        if isinstance(rule, str) and text.lstrip().startswith("{"):
            document = json.loads(text)
        else:
            with open(rule, encoding="utf-8") as file:
                document = json.load(file)
    elif isinstance(rule, dict):
        document = rule
    else:
        raise TypeError(f"an exported rule is a path, JSON text or dict, got {type(rule).__name__}")
    return rule_from_document(document)


def rule_from_document(document: dict) -> ExportedRule:
    where = "update rule JSON"
    if document.get("format") != FORMAT:
        raise ValueError(f"{where}: field \"format\" must be \"{FORMAT}\", got {document.get('format')!r}")
    if document.get("version") not in READABLE_VERSIONS:
        raise ValueError(f"{where}: field \"version\" must be 1 or 2, got {document.get('version')!r}")
    family = document.get("family")
    if family not in FAMILY_DEFAULTS:
        raise ValueError(f"{where}: field \"family\" must be one of {', '.join(FAMILY_DEFAULTS)}, got {family!r}")

    hyperparameters = {**FAMILY_DEFAULTS[family], **SCHEDULE_DEFAULTS}
    for name, value in document.get("hyperparameters", {}).items():
        if name not in hyperparameters:
            raise ValueError(f"{where}: update rule \"{family}\" has no hyperparameter \"{name}\"; "
                             f"valid names: {', '.join(hyperparameters)}")
        hyperparameters[name] = value if name == "schedule" else float(value)

    architecture = dict(ARCHITECTURE_DEFAULTS.get(family, {}))
    for name, value in document.get("architecture", {}).items():
        if name not in architecture:
            raise ValueError(f"{where}: update rule \"{family}\" has no architecture option \"{name}\"")
        architecture[name] = value

    blocks = {name: [float(v) for v in values] for name, values in document.get("blocks", {}).items()}
    inner_steps = document.get("inner_steps")
    if not isinstance(inner_steps, int) or inner_steps < 1:
        raise ValueError(f"{where}: field \"inner_steps\" must be an integer >= 1, got {inner_steps!r}")
    return ExportedRule(family, hyperparameters, architecture, blocks, inner_steps, document.get("source", {}))
