"""The trained families as MLflow models: one `pyfunc` per family, registered as
`reprozoo-<family>`, with an input example and the signature of the model's output on it.

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
  numpy_net  the same                                       → its softmax outputs (N, 10)
  vae        the same                                       → reconstructions (N, 784), from μ
  rbm        the same                                       → hidden-unit probabilities (N, H)
  gan        float32 array (N, z_dim) of N(0, 1) noise      → images (N, 784) in [0, 1]
  seq2seq    DataFrame with a `ja` column (Japanese text)   → English translations (beam)
  charrnn    DataFrame with a `prefix` column               → greedy completions
  word2vec   DataFrame with a `word` column                 → input vectors (N, D), NaN if unknown
  mf         DataFrame `user`, `item` (0-based indices)     → predicted ratings
  nb spam    DataFrame with a `message` column              → P(spam)
  qlearning  DataFrame with a `state` column                → the greedy action
multnet and the association rules are not MLflow models (a table of formulas and a rule
set: their reports say more than a predict() would).
Only mlflow, numpy, pandas and torch are imported, and only when a model is logged or
loaded; nothing here is a DVC stage dependency (tracking.py and tracking_process.py, both
MLflow only, use it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

# family kind → (headline metric that decides the `champion` alias, "max" | "min")
PRIMARY = {"mnist_clf": ("test/accuracy", "max"), "seq2seq": ("test/bleu", "max"),
           "mf": ("cv/rmse", "min"), "naive_bayes": ("cv/accuracy", "max"),
           "numpy_net": ("test/accuracy", "max"), "vae": ("test/loss", "min"),
           "gan": ("test/fid", "min"), "rbm": ("test/log_likelihood", "max"),
           "charrnn": ("test/bits_per_char", "min"), "word2vec": ("test/pair_score", "max"),
           "qlearning": ("test/mean_return", "max")}
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
        elif kind == "numpy_net":
            from reprozoo.families.numpy_net.evaluate import load_model
            self.model = load_model(path, family=family)
        elif kind == "vae":
            from reprozoo.families.vae.evaluate import load_model
            self.model = load_model(path, family=family)[0]
        elif kind == "gan":
            from reprozoo.families.gan.evaluate import load_model
            self.model = load_model(path, family=family)
        elif kind == "rbm":
            from reprozoo.families.rbm.evaluate import load_model
            self.model = load_model(path, family=family)
        elif kind == "charrnn":
            from reprozoo.families.charrnn.evaluate import load_model
            self.model = load_model(path, family=family)
            self.model[0].eval()
        elif kind == "word2vec":
            from reprozoo.families.word2vec.evaluate import load_model
            words, w_in, _, _ = load_model(path, family)
            self.model = ({w: n for n, w in enumerate(words)}, w_in)
        elif kind == "qlearning":
            from reprozoo.families.qlearning.evaluate import load_model
            from reprozoo.families.qlearning.model import greedy
            self.model = greedy(load_model(path, family)[0])
        else:
            raise ValueError(f"family kind {kind!r} has no MLflow model (servable: {sorted(PRIMARY)})")

    def __call__(self, data: Any) -> Any:
        """Predict on MLflow's input: an array, or a table (a DataFrame, or a mapping of
        column → values, as the stage sends its input example without importing pandas)."""
        import numpy as np
        import torch

        if self.kind in ("mnist_clf", "numpy_net", "vae", "rbm", "gan"):
            x = np.asarray(data, dtype=np.float32)
            with torch.inference_mode():
                if self.kind == "mnist_clf":
                    return torch.softmax(self.model(torch.from_numpy(x).reshape(-1, 1, 28, 28)), 1).numpy()
                if self.kind == "numpy_net":
                    from reprozoo.families.numpy_net.model import center_crop
                    return self.model.forward(center_crop(np.rint(x.reshape(-1, 28, 28) * 255)))
                if self.kind == "vae":
                    mu, _ = self.model.encode(torch.from_numpy(x).reshape(-1, 784))
                    return torch.sigmoid(self.model.decode(mu)).numpy()
                if self.kind == "rbm":
                    return self.model.p_h(torch.from_numpy(x).reshape(-1, 784)).numpy()
                return ((self.model(torch.from_numpy(x)) + 1) / 2).reshape(len(x), -1).numpy()
        frame = data
        if not isinstance(data, Mapping) and not hasattr(data, "columns"):  # e.g. a list of records
            import pandas as pd
            frame = pd.DataFrame(data)

        def texts(column: str) -> list[str]:
            return [str(v) for v in frame[column]]

        if self.kind == "charrnn":
            from reprozoo.families.charrnn.model import complete
            model, itos = self.model
            with torch.inference_mode():
                return np.asarray([complete(model, itos, p, 80, 1.0, None, "cpu")
                                   for p in texts("prefix")], dtype=object)
        if self.kind == "word2vec":
            index, w_in = self.model
            words = texts("word")
            out = np.full((len(words), w_in.shape[1]), np.nan, dtype=np.float32)
            for n, w in enumerate(words):
                if w in index:
                    out[n] = w_in[index[w]].numpy()
            return out
        if self.kind == "qlearning":
            return self.model[np.asarray(frame["state"], dtype=np.int64)]
        if self.kind == "seq2seq":
            from reprozoo.families.seq2seq.translate import translate_lines
            return np.asarray(translate_lines(self.model, texts("ja"), beam=self.model.cfg.beam), dtype=object)
        if self.kind == "mf":
            u = torch.from_numpy(np.array(frame["user"], dtype=np.int64))
            i = torch.from_numpy(np.array(frame["item"], dtype=np.int64))
            with torch.inference_mode():
                return self.model.predict(u, i).numpy()
        return np.asarray(self.model.spam_probability(texts("message")))


def input_example(kind: str, data_dir: Path | None, model_dir: Path | None = None,
                  family: str = "") -> Any:
    """A small real input for the model's page and its signature: an array, or a table as
    a mapping of column → values (a DataFrame once logged; the stage never imports pandas)."""
    import numpy as np

    if kind in ("mnist_clf", "numpy_net", "vae", "rbm"):
        x = np.load(Path(data_dir) / "x_test.npy", mmap_mode="r")[:2]
        return np.asarray(x, dtype=np.float32).reshape(2, 784) / (255.0 if x.dtype == np.uint8 else 1.0)
    if kind == "gan":  # latent vectors of the generator's size (its checkpoint's config)
        from reprozoo import checkpoint
        from reprozoo.families.gan.config import Config

        z_dim = checkpoint.load(Path(model_dir) / MODEL_FILE, family=family, config_cls=Config).config.z_dim
        return np.random.default_rng(0).standard_normal((2, z_dim)).astype(np.float32)
    if kind == "charrnn":
        return {"prefix": ["i want to", "she"]}
    if kind == "word2vec":
        return {"word": ["dog", "犬"]}
    if kind == "qlearning":
        return {"state": [0, 1]}
    if kind == "seq2seq":
        return {"ja": ["私は学生です。", "猫が好きです。"]}
    if kind == "mf":
        return {"user": [0, 1], "item": [0, 1]}
    return {"message": ["WINNER!! claim your prize now", "see you at lunch"]}


def example(kind: str, family: str, model_dir: Path, data_dir: Path | None) -> dict[str, Any]:
    """The input example and what the model predicts on it, as JSON (`log` takes it).

    The stage computes it, with the model it has just trained and torch already loaded, so
    that the process that logs to MLflow never imports torch (reprozoo.tracking_process):
    MLflow gets the signature from this pair instead of loading the model to infer it."""
    x = input_example(kind, data_dir, model_dir, family)
    return {"input": _to_json(x), "output": _to_json(Predictor(kind, family, Path(model_dir))(x))}


def _to_json(value: Any) -> dict[str, Any]:
    import numpy as np

    if isinstance(value, Mapping):
        return {"columns": {k: list(v) for k, v in value.items()}}
    a = np.asarray(value)
    return {"dtype": "object" if a.dtype == object else a.dtype.str, "shape": list(a.shape),
            "data": a.ravel().tolist()}


def _from_json(value: Mapping[str, Any]) -> Any:
    import numpy as np

    if "columns" in value:
        import pandas as pd
        return pd.DataFrame(value["columns"])
    dtype = object if value["dtype"] == "object" else np.dtype(value["dtype"])
    return np.asarray(value["data"], dtype=dtype).reshape(value["shape"])


def log(run_id: str, uri: str, family: str, kind: str, model_dir: Path,
        example_io: Mapping[str, Any]) -> Any:
    """Log the family's model to run `run_id` and register it as `reprozoo-<family>`.
    `example_io`: `example(...)`'s input and output, the signature's source."""
    from importlib.metadata import version

    import mlflow
    from mlflow.models import Model, infer_signature

    mlflow.set_tracking_uri(uri)
    x, y = _from_json(example_io["input"]), _from_json(example_io["output"])
    return Model.log(
        artifact_path=None, name="mlflow-model", flavor=_pyfunc_flavor(), run_id=run_id,
        python_model=str(ENTRY), artifacts={"model_dir": str(model_dir)},
        model_config={"family": family, "kind": kind},
        input_example=x, signature=infer_signature(x, y),
        # the stage has run the model on the example (`example`); loading it again here
        # would cost this process torch's import (Model.log reads this; see _pyfunc_flavor)
        validate_serving_input=False,
        # stated, not inferred: MLflow's inference would load the model in a subprocess
        pip_requirements=[f"mlflow=={mlflow.__version__}", f"torch=={version('torch').split('+')[0]}"],
        metadata={"needs": "the reprozoo package of this repository (pip install -e .)"},
        registered_model_name=registered_name(family), await_registration_for=30)


def _pyfunc_flavor() -> Any:
    """mlflow.pyfunc as Model.log's flavor (a namespace with `save_model`, as Model.log asks).
    Model.log reads `validate_serving_input` from its keyword arguments and hands them all
    to the flavor's save_model, which for pyfunc does not take that one: it is dropped here."""
    from types import SimpleNamespace

    import mlflow.pyfunc

    def save_model(*, validate_serving_input: bool = True, **kwargs: Any) -> Any:
        return mlflow.pyfunc.save_model(**kwargs)

    return SimpleNamespace(__name__=mlflow.pyfunc.__name__, save_model=save_model)


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
