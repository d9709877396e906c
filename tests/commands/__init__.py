"""Tests of diffusiontalker.commands."""
