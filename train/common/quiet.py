"""TensorFlow without its start-up notices on the terminal.

Importing TensorFlow 2.21 writes oneDNN and absl notices straight to file descriptor 2,
whatever ``TF_CPP_MIN_LOG_LEVEL`` says; ``train``/``convert`` would start with them on
every run. They go to the debug log instead (``-vv`` shows them).
"""

from __future__ import annotations

import os

from ...edge.vision.runtime import native_stderr_to_log


def import_tensorflow() -> None:
    """Import TensorFlow and Keras once, quietly; later imports are plain lookups."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_to_log(notices=True, name="tensorflow"):
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
