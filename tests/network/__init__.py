"""Tests of diffusiontalker.network."""
