"""The trained families as MLflow models: one `pyfunc` per family, registered as
`reprozoo-<family>`, with an input example and the signature MLflow infers from it.

Why pyfunc "models from code" for every family, torch ones included: the model MLflow
stores is this module's `FamilyModel` (named by file, not pickled) plus the family's own
checkpoint folder as an artifact, and the checkpoint is read with `torch.load(...,
weights_only=True)` by the family's loader — so loading a model runs no pickled code, and
`mlflow.pyfunc.load_model("models:/reprozoo-cnn@champion")` predicts exactly what
`reprozoo` and the evaluate stage compute. (`mlflow.pytorch.log_model` would pickle the
whole `nn.Module`.) Loading needs the `reprozoo` package installed, as any custom model
needs its code.

Inputs and outputs, by family kind:
  mnist_clf  float32 array (N, 784), pixels in [0, 1]      → class probabilities (N, 10)
  seq2seq    DataFrame with a `ja` column (Japanese text)   → English translations (beam)
  mf         DataFrame `user`, `item` (0-based indices)     → predicted ratings
  nb spam    DataFrame with a `message` column              → P(spam)
Only mlflow, numpy, pandas and torch are imported, and only when a model is logged or
loaded; nothing here is a DVC stage dependency (tracking.py alone uses it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# family kind → (headline metric that decides the `champion` alias, "max" | "min")
PRIMARY = {"mnist_clf": ("test/accuracy", "max"), "seq2seq": ("test/bleu", "max"),
           "mf": ("cv/rmse", "min"), "naive_bayes": ("cv/accuracy", "max")}
MODEL_FILE = "model.pt"
ENTRY = Path(__file__).with_name("serving_entry.py")  # the models-from-code file


def servable(kind: str, family: str) -> bool:
    """Whether a family is logged as an MLflow model (nb_golf's 14-row table is not)."""
    return kind in PRIMARY and not (kind == "naive_bayes" and family != "nb_spam")


def registered_name(family: str) -> str:
    return f"reprozoo-{family}"


class Predictor:
    """Loads one family's checkpoint folder and predicts on MLflow's inputs."""

    def __init__(self, kind: str, family: str, model_dir: Path):
        self.kind, self.family, path = kind, family, Path(model_dir) / MODEL_FILE
        if kind == "mnist_clf":
            from reprozoo.families.mnist_clf.evaluate import load_model
            self.model = load_model(path, family=family)
        elif kind == "seq2seq":
            from reprozoo.families.seq2seq.evaluate import load_model
            self.model = load_model(path, family)
        elif kind == "mf":
            from reprozoo.families.mf.evaluate import load_model
            self.model, _ = load_model(path, family=family)
        elif kind == "naive_bayes":
            from reprozoo.families.naive_bayes.evaluate import load_spam_models
            self.model = load_spam_models(path, family=family)[0]["improved"]
        else:
            raise ValueError(f"family kind {kind!r} has no MLflow model (servable: {sorted(PRIMARY)})")

    def __call__(self, data: Any) -> Any:
        import numpy as np
        import pandas as pd
        import torch

        if self.kind == "mnist_clf":
            x = torch.as_tensor(np.asarray(data, dtype=np.float32)).reshape(-1, 1, 28, 28)
            with torch.inference_mode():
                return torch.softmax(self.model(x), dim=1).numpy()
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        if self.kind == "seq2seq":
            from reprozoo.families.seq2seq.translate import translate_lines
            lines = frame["ja"].astype(str).tolist()
            return np.asarray(translate_lines(self.model, lines, beam=self.model.cfg.beam), dtype=object)
        if self.kind == "mf":
            u = torch.as_tensor(frame["user"].to_numpy(), dtype=torch.long)
            i = torch.as_tensor(frame["item"].to_numpy(), dtype=torch.long)
            with torch.inference_mode():
                return self.model.predict(u, i).numpy()
        return np.asarray(self.model.spam_probability(frame["message"].astype(str).tolist()))


def input_example(kind: str, data_dir: Path | None) -> Any:
    """A small real input for the model's page and its inferred signature."""
    import numpy as np
    import pandas as pd

    if kind == "mnist_clf":
        x = np.load(Path(data_dir) / "x_test.npy", mmap_mode="r")[:2]
        return np.asarray(x, dtype=np.float32).reshape(2, 784) / (255.0 if x.dtype == np.uint8 else 1.0)
    if kind == "seq2seq":
        return pd.DataFrame({"ja": ["私は学生です。", "猫が好きです。"]})
    if kind == "mf":
        return pd.DataFrame({"user": [0, 1], "item": [0, 1]})
    return pd.DataFrame({"message": ["WINNER!! claim your prize now", "see you at lunch"]})


def log(run_id: str, uri: str, family: str, kind: str, model_dir: Path,
        data_dir: Path | None) -> Any:
    """Log the family's model to run `run_id` and register it as `reprozoo-<family>`."""
    import mlflow
    import torch
    from mlflow.models import Model

    mlflow.set_tracking_uri(uri)
    return Model.log(
        artifact_path=None, name="mlflow-model", flavor=mlflow.pyfunc, run_id=run_id,
        python_model=str(ENTRY), artifacts={"model_dir": str(model_dir)},
        model_config={"family": family, "kind": kind},
        input_example=input_example(kind, data_dir),
        # stated, not inferred: MLflow's inference would load the model in a subprocess
        pip_requirements=[f"mlflow=={mlflow.__version__}", f"torch=={torch.__version__.split('+')[0]}"],
        metadata={"needs": "the reprozoo package of this repository (pip install -e .)"},
        registered_model_name=registered_name(family), await_registration_for=30)


def model_path(arg: str | Path) -> Path:
    """A `--model` argument as a checkpoint file: a path as given, or a registry / run URI
    (`models:/reprozoo-cnn@champion`, `models:/reprozoo-mf/3`, `runs:/<id>/mlflow-model`)
    downloaded from the tracking store (MLFLOW_TRACKING_URI, else ./mlflow.db)."""
    text = str(arg)
    if not text.startswith(("models:/", "runs:/")):
        return Path(text)
    import mlflow

    from reprozoo import tracking
    from reprozoo.errors import ReprozooError

    mlflow.set_tracking_uri(tracking.tracking_uri(Path(".")))
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=text))
    except Exception as exc:  # noqa: BLE001 - unknown name, alias, version or store
        raise ReprozooError(f"--model {text}: not found in the MLflow store "
                            f"{tracking.tracking_uri(Path('.'))} ({str(exc).splitlines()[0][:200]}); "
                            "list them with `mlflow models` or the UI's Models tab") from None
    found = sorted(local.rglob(MODEL_FILE))
    if not found:
        raise ReprozooError(f"--model {text}: no {MODEL_FILE} in that MLflow model")
    return found[0]
