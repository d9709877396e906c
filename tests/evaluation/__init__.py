"""Tests of diffusiontalker.evaluation."""
