"""The sentiment pipeline behind `make sentiment`: embed, train the head, compose, measure,
publish fp32 (version 1) and int8 (version 2) with the tokenizer beside them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from utils.deployment_helpers.manifest import (
    ParityReport,
    SourceInfo,
    VersionInfo,
    read_manifest,
)
from utils.errors import BadInput
from utils.paths import PROJECT_ROOT
from utils.testing.parity import compare_outputs
from utils.use_cases.publish import publish_fresh
from utils.use_cases.sentiment import (
    EMBEDDING,
    OUTPUT,
    TOKENIZER_FILE,
    Evaluation,
    compose_with_head,
    evaluate,
    load_sentences,
    run_text_model,
    sentiment_manifest,
    train_head,
)

DATA: Final[Path] = PROJECT_ROOT / "TP_ONNX" / "use_cases" / "data" / "sentiment.jsonl"
PARITY_ATOL: Final[float] = 1e-5
ACCURACY_BUDGET: Final[float] = 0.01
"""The int8 variant may lose at most one accuracy point against fp32 (issue 13)."""


@dataclass
class SentimentBuild:
    """The two composed files and what was measured on them."""

    fp32: Path
    int8: Path
    tokenizer: Path
    int8_variant: str
    chosen_c: float
    train_sentences: int
    test_sentences: int
    parity: ParityReport
    evaluations: dict[str, Evaluation]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "train_sentences": self.train_sentences,
            "test_sentences": self.test_sentences,
            "head": {"model": "LogisticRegression", "C": self.chosen_c},
            "int8_variant": self.int8_variant,
            "accuracy_drop_int8": self.evaluations["fp32"].accuracy
            - self.evaluations["int8"].accuracy,
            "accuracy_budget": ACCURACY_BUDGET,
            "parity_fp32_vs_sklearn": self.parity.model_dump(),
            **{variant: e.to_dict() for variant, e in self.evaluations.items()},
        }

    def _info(self, variant: str) -> VersionInfo:
        evaluation = self.evaluations["int8" if variant != "fp32" else "fp32"]
        return VersionInfo(
            sha256="0" * 64,
            size_bytes=0,
            variant=variant,
            source=SourceInfo(framework="sklearn", file="head on models/minilm"),
            parity=self.parity if variant == "fp32" else None,
            metrics={"accuracy": evaluation.accuracy},
            accuracy_budget=None if variant == "fp32" else ACCURACY_BUDGET,
            details={"confusion_matrix": evaluation.confusion, "head_C": self.chosen_c},
        )

    def publish(self, repository: Path, name: str = "sentiment") -> Path:
        """Write ``repository/name`` afresh: v1 fp32, v2 int8, tokenizer.json."""
        return publish_fresh(
            repository,
            sentiment_manifest(name),
            [(self.fp32, self._info("fp32")), (self.int8, self._info(self.int8_variant))],
            extra_files={TOKENIZER_FILE: self.tokenizer},
        )


def build_sentiment(
    work: Path,
    minilm: Path,
    *,
    data: Path = DATA,
    log: Callable[[str], object] = lambda _: None,
) -> SentimentBuild:
    """Train, compose and measure in ``work`` from the published MiniLM folder ``minilm``."""
    from utils.runtime import create_session

    encoders = {"fp32": minilm / "1" / "model.onnx", "int8": minilm / "2" / "model.onnx"}
    tokenizer = minilm / TOKENIZER_FILE
    for path in (*encoders.values(), tokenizer):
        if not path.is_file():
            raise BadInput(f"{path} is missing: run `make minilm` first")
    int8_variant = read_manifest(minilm).version(2).variant
    train, test = load_sentences(data, "train"), load_sentences(data, "test")

    log(f"1/4 embed {len(train.texts)} training sentences with MiniLM fp32")
    encoder = create_session(encoders["fp32"])
    embeddings = run_text_model(encoder, train.texts, tokenizer, output=EMBEDDING, batch_size=32)
    log("2/4 train the logistic-regression head (C by 5-fold cross-validation)")
    head = train_head(embeddings, train.labels)

    log("3/4 compose encoder + head into one graph, fp32 and int8")
    files = {
        v: compose_with_head(p, head, work / f"sentiment-{v}.onnx") for v, p in encoders.items()
    }

    log(f"4/4 measure on the {len(test.texts)} held-out sentences (batch 1)")
    test_embeddings = run_text_model(encoder, test.texts, tokenizer, output=EMBEDDING)
    reference = head.predict_proba(test_embeddings).astype("float32")
    probabilities = {
        v: run_text_model(create_session(f), test.texts, tokenizer, output=OUTPUT)
        for v, f in files.items()
    }
    parity = compare_outputs(
        [reference], [probabilities["fp32"]], [OUTPUT], atol=PARITY_ATOL, min_label_agreement=1.0
    )
    return SentimentBuild(
        fp32=files["fp32"],
        int8=files["int8"],
        tokenizer=tokenizer,
        int8_variant=int8_variant,
        chosen_c=float(head.C),
        train_sentences=len(train.texts),
        test_sentences=len(test.texts),
        parity=parity,
        evaluations={v: evaluate(p, test) for v, p in probabilities.items()},
    )
