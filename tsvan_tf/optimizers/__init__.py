"""Optimizers."""

from tsvan_tf.optimizers.coupled_adam import CoupledAdam

__all__ = ["CoupledAdam"]
