"""The reference point: the smallest FastAPI endpoint that serves the same ONNX model.

No validation beyond pydantic's parsing, no metrics, no logging, no auth, the onnxruntime
call right on the event loop: what a person writes in ten minutes. Our server must be at
least as fast with every production feature on. Run by ``bench_serve.py``:
``BENCH_MODEL=<model.onnx> uvicorn TP_Docker.benchmarks.bare_fastapi:app``.
"""

from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI
from pydantic import BaseModel

options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(
    os.environ["BENCH_MODEL"], sess_options=options, providers=["CPUExecutionProvider"]
)
input_name = session.get_inputs()[0].name
app = FastAPI()


class Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[float]


class InferRequest(BaseModel):
    inputs: list[Tensor]


@app.post("/v2/models/{model_name}/infer")
async def infer(model_name: str, request: InferRequest) -> dict[str, object]:
    tensor = request.inputs[0]
    x = np.asarray(tensor.data, dtype=np.float32).reshape(tensor.shape)
    (logits,) = session.run(None, {input_name: x})
    return {
        "model_name": model_name,
        "outputs": [
            {
                "name": "logits",
                "datatype": "FP32",
                "shape": list(logits.shape),
                "data": logits.reshape(-1).tolist(),
            }
        ],
    }
