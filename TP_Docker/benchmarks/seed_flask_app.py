"""The baseline people start from: a one-file Flask app, the way the seed README shows it.

Load the model at import, read JSON, run onnxruntime, answer JSON, ``app.run()`` on the
development server. Kept here, unchanged in spirit, so the benchmark compares our server
with what users would otherwise write. ``BENCH_MODEL=<model.onnx> BENCH_PORT=5000
python TP_Docker/benchmarks/seed_flask_app.py``.
"""

import os

import numpy as np
import onnxruntime as ort
from flask import Flask, jsonify, request

app = Flask(__name__)
session = ort.InferenceSession(os.environ["BENCH_MODEL"], providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name


@app.route("/predict", methods=["POST"])
def predict():  # type: ignore[no-untyped-def]
    data = request.get_json()
    x = np.array(data["inputs"][0]["data"], dtype=np.float32).reshape(data["inputs"][0]["shape"])
    outputs = session.run(None, {input_name: x})
    return jsonify({"outputs": [{"name": "logits", "data": outputs[0].tolist()}]})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("BENCH_PORT", "5000")))
