"""MLflow "models from code" entry: the model MLflow loads for every reprozoo family.

MLflow runs this file when it loads a logged model (no pickle); `load_context` reads the
family's checkpoint folder, logged beside it as the artifact `model_dir`.
"""

import mlflow
from mlflow.pyfunc import PythonModel


class FamilyModel(PythonModel):
    def load_context(self, context):
        from reprozoo.serving import Predictor

        cfg = context.model_config
        self.predictor = Predictor(cfg["kind"], cfg["family"], context.artifacts["model_dir"])

    def predict(self, context, model_input, params=None):
        return self.predictor(model_input)


mlflow.models.set_model(FamilyModel())
