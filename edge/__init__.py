"""digitd on the device: sources, preprocessing, classifier, decisions, MQTT, daemon, CLI.

Nothing here imports TensorFlow; heavy and hardware imports happen inside the
functions that need them.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# The largest picture OpenCV will decode, read once when cv2 loads: 100 megapixels is
# more than any camera frame or phone photo digitd reads, and stops a 1 KB PNG that
# declares 20000x20000 pixels from asking for gigabytes. Set it yourself to change it.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(100_000_000))

try:
    __version__ = version("digitd")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
