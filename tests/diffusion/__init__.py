"""Tests of diffusiontalker.diffusion."""
