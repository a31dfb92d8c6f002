"""Shared fixtures: the committed real-MNIST sample, and real Mosquitto brokers (plain,
password-protected, TLS) from :mod:`tests.mqtt_broker`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.daemon_proc import Daemon
from tests.mqtt_broker import (
    MOSQUITTO_PASSWD,
    OPENSSL,
    Mosquitto,
    TlsFiles,
    make_ca,
    make_cert,
    run_broker,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
MNIST_SAMPLE = ROOT / "tests" / "data" / "mnist-sample"
SHIPPED_MODEL = ROOT / "models" / "digits.tflite"


@pytest.fixture(scope="session")
def mnist_sample_dir() -> Path:
    return MNIST_SAMPLE


@pytest.fixture(scope="session")
def mnist_test() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """1,000 real MNIST test digits (random, committed) and their labels."""
    from digitd.train.common.idx import load_mnist_dir

    return load_mnist_dir(MNIST_SAMPLE, "test")


@pytest.fixture(name="mosquitto")
def mosquitto_fixture(tmp_path: Path) -> Iterator[Mosquitto]:
    """An anonymous broker."""
    yield from run_broker(tmp_path, conf="allow_anonymous true\n")


@pytest.fixture(name="mosquitto_auth")
def mosquitto_auth_fixture(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker that wants user ``digitd`` with password ``s3cret``."""
    if MOSQUITTO_PASSWD is None:
        pytest.skip("mosquitto_passwd not installed")
    passwd = tmp_path / "passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-b", "-c", str(passwd), "digitd", "s3cret"],
                   check=True, capture_output=True)
    yield from run_broker(tmp_path, conf=f"allow_anonymous false\npassword_file {passwd}\n",
                       username="digitd", password="s3cret")


@pytest.fixture(name="tls_files", scope="session")
def tls_files_fixture(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A test CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    if OPENSSL is None:
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("tls")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "server", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "client", None, key_password="keypass")
    return TlsFiles(ca=d / "ca.crt", server_cert=d / "server.crt", server_key=d / "server.key",
                    client_cert=d / "client.crt", client_key=d / "client.key",
                    key_password="keypass", other_ca=d / "other-ca.crt")


@pytest.fixture(name="mosquitto_tls")
def mosquitto_tls_fixture(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Mosquitto]:
    """A TLS-only broker that requires a client certificate signed by the test CA."""
    conf = (f"allow_anonymous true\ncafile {tls_files.ca}\ncertfile {tls_files.server_cert}\n"
            f"keyfile {tls_files.server_key}\nrequire_certificate true\n")
    yield from run_broker(tmp_path, conf=conf, tls=tls_files)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons a test starts (append them): stopped at its end, whatever happened."""
    started: list[Daemon] = []
    yield started
    for d in started:
        d.stop()
