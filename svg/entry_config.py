"""Moved to :mod:`svg.config.entries`; this name stays importable for this release."""
from svg.config.entries import *  # noqa: F401,F403
from svg.config.entries import (OLD_LIKELIHOOD_OPTIONS, check_entry_options, check_frame_shape,  # noqa: F401
                                checked_options, likelihood_config, merge_or_explain, refuse_item_dicts,
                                with_default_horizons)
