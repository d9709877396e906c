"""Tests of diffusiontalker.datasets."""
