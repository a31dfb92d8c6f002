"""digitd on the device: sources, preprocessing, classifier, decisions, MQTT, daemon, CLI.

Nothing here imports TensorFlow; heavy and hardware imports happen inside the
functions that need them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("digitd")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
