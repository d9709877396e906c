"""Tests of diffusiontalker.bake."""
