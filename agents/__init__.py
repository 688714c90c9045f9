"""Faust agents, one module per workflow; each exposes ``register(runtime)``."""
