"""Directing a take: constraints the sampler honours (keys, transcript closures), torch-free."""
