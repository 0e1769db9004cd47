"""Train a small model of your own, the way you would outside this course, to walk it through.

The demo models are digits; every tool here works on any model. This script plays the
student: it fits a scikit-learn pipeline (scaler + RandomForest) on the iris flowers,
which ship inside scikit-learn, on a DataFrame so that the pipeline knows its feature
names, pickles it, and writes the rows it was NOT trained on as a CSV with a header and
the target column. Those are the two files the converter needs::

    python TP_ONNX/train_your_own_model.py --output-dir out/student
    python TP_ONNX/model_conversion.py --input out/student/iris.pkl \\
        --output out/student/iris.onnx --samples out/student/iris_test.csv \\
        --target-column species --repository models --name iris_forest

Swap in your own data and estimator: the conversion, the page, the client, compression,
the quality gate and monitoring read what they need from the manifest it writes.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, no PYTHONPATH

TARGET = "species"


def train(output_dir: Path, seed: int = 0) -> tuple[Path, Path, float]:
    """Fit, pickle and write the held-out rows; return both paths and the held-out accuracy."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    iris = load_iris(as_frame=True)
    features = iris.data.rename(columns=lambda name: name.replace(" (cm)", "").replace(" ", "_"))
    species = iris.target.map(dict(enumerate(iris.target_names)))
    x_train, x_test, y_train, y_test = train_test_split(
        features, species, test_size=0.3, stratify=species, random_state=seed
    )
    model = make_pipeline(
        StandardScaler(), RandomForestClassifier(n_estimators=50, max_depth=4, random_state=seed)
    )
    model.fit(x_train, y_train)
    output_dir.mkdir(parents=True, exist_ok=True)
    model_file = output_dir / "iris.pkl"
    with model_file.open("wb") as f:
        pickle.dump(model, f)
    test_file = output_dir / "iris_test.csv"
    x_test.assign(**{TARGET: y_test}).to_csv(test_file, index=False)
    return model_file, test_file, float(model.score(x_test, y_test))


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Train a scikit-learn iris pipeline and write iris.pkl + iris_test.csv, "
        "the files a student brings to model_conversion.py."
    )
    parser.add_argument("--output-dir", type=Path, default=Path("out/student"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model_file, test_file, accuracy = train(args.output_dir, args.seed)
    print(f"model      {model_file}  (StandardScaler + RandomForest, pickled)")
    print(f"held out   {test_file}  (header + '{TARGET}' column)")
    print(f"accuracy   {accuracy:.4f} on the held-out rows (scikit-learn)")
    print(
        f"next       python TP_ONNX/model_conversion.py --input {model_file} "
        f"--output {model_file.with_suffix('.onnx')} --samples {test_file} "
        f"--target-column {TARGET}"
    )


if __name__ == "__main__":
    main()
