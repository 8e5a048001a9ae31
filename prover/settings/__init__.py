"""Typed settings of the shared config groups (``lean``, ``model``, ``prover``): one dataclass per node.

Why here, at the bottom: the config is turned into these objects once, at the edge (the Hydra apps;
``prover.config`` registers every class below in Hydra's ConfigStore as the schema of its group, so a
wrong key or a wrong type fails when the config is composed, with Hydra's own message), and everything
below the edge (the verifier, generator and strategy factories, the strategies) takes them as typed,
documented parameters. Nothing here imports Hydra or OmegaConf.

The field types are the ones OmegaConf can check (``Optional[...]``, ``list``, ``dict``, nested
dataclasses, ``Any``): these classes are Hydra's schemas as well as Python's parameters.

:func:`settings_from` builds any of them from a plain mapping (a notebook's dict, a composed
``DictConfig`` node, a JSON object), naming the key in every error, so code that is handed a mapping
reads it the same way the apps do.
"""

from prover.settings.apps import (
    CheckSettings,
    EvalSettings,
    FormalizeSettings,
    LeanServerSettings,
    ServeSettings,
    SynthSettings,
)
from prover.settings.read import SettingsError, settings_from
from prover.settings.sampling import SamplingParams, SamplingSettings
from prover.settings.services import (
    DatasetSettings,
    LeanSettings,
    LoggerSettings,
    ModelSettings,
    VLLMSettings,
)
from prover.settings.strategies import (
    BestFirstBudget,
    BestFirstSettings,
    Budget,
    MALoTBudget,
    MALoTSettings,
    WholeProofBudget,
    WholeProofSettings,
)

__all__ = [
    "BestFirstBudget",
    "BestFirstSettings",
    "Budget",
    "CheckSettings",
    "DatasetSettings",
    "EvalSettings",
    "FormalizeSettings",
    "LeanServerSettings",
    "LeanSettings",
    "LoggerSettings",
    "MALoTBudget",
    "MALoTSettings",
    "ModelSettings",
    "SamplingParams",
    "SamplingSettings",
    "ServeSettings",
    "SettingsError",
    "SynthSettings",
    "VLLMSettings",
    "WholeProofBudget",
    "WholeProofSettings",
    "settings_from",
]
