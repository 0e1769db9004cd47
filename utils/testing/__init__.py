"""Proof that a model works: parity between a source framework and ONNX, and benchmarks.

``benchmark`` measures latency percentiles of any callable; ``parity`` compares a source
model's outputs with onnxruntime's on the same inputs. Neither imports a framework: the
caller hands in the source model's outputs as numpy arrays.
"""
