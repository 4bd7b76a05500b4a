

import warnings

from pydantic.warnings import UnsupportedFieldAttributeWarning

# distilabel 1.5.3 declares `Field(default=None)` inside type aliases, which pydantic 2.12 flags
# while defining the classes (three UnsupportedFieldAttributeWarning at import, no effect on
# behaviour). Silenced for distilabel's import only; the package is imported here, once, before any
# module of this package uses it.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=UnsupportedFieldAttributeWarning)
    import distilabel.models  # noqa: E402, F401
    import distilabel.steps  # noqa: E402, F401

