"""Datasets of svg-sigma (selected by name from the config)."""
