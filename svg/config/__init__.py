"""Structured configuration: plain dataclasses (:mod:`.schema`), read in one pass from a YAML file,
a checkpoint or a Config and the command line (:func:`.read.read_config`)."""
from .entries import check_frame_shape, refuse_item_dicts
from .read import apply_overrides, config_from_dict, config_to_yaml, load_config, read_config
from .schema import (LR_SCHEDULES, Config, DataConfig, EvalConfig, LikelihoodConfig,
                     ModelConfig, TrainConfig, check_ranges)

__all__ = ["Config", "DataConfig", "EvalConfig", "LikelihoodConfig", "ModelConfig", "TrainConfig",
           "LR_SCHEDULES", "apply_overrides", "check_frame_shape", "check_ranges",
           "config_from_dict", "config_to_yaml", "load_config", "read_config", "refuse_item_dicts"]
