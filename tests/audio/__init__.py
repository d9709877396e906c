"""Tests of diffusiontalker.audio."""
