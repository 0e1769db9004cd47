"""Labelled evaluation data and scoring for any model (numpy + onnxruntime only).

``data``: read a user's rows (npy, npz, csv) and keep them beside a model with their
sha256. ``scoring``: accuracy / MAE of an ONNX file on them, and which rows a model is
scored on (the user's, the manifest's record, or the digits split for the demo models).
"""
