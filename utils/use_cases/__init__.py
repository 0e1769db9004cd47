"""Use cases beyond the digits: sentiment (text), forecasting and anomaly detection (series).

One module per model, each with the same stages: data, train, export to one ONNX graph
with a parity check, measure, publish. Frameworks (torch, scikit-learn, statsmodels) are
imported inside the functions that need them, so ``import utils`` stays light.
"""
