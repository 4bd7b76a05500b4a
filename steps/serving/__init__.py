"""Stage 5: what the run hands over for serving (exports of the model, scored)."""

from steps.serving.export_model import export_model

__all__ = ["export_model"]
