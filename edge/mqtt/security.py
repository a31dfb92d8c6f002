"""The broker connection's secrets and TLS: the password, the client certificate, the CAs,
each file problem named before connecting."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path

from ..config import MqttConfig, TlsConfig
from ..errors import ConfigurationError
from .credentials import credential_path, read_secret

PASSWORD_CREDENTIAL = "mqtt-password"  # systemd LoadCredential=mqtt-password:...
KEY_PASSWORD_CREDENTIAL = "mqtt-key-password"


class MqttSetupError(ConfigurationError):
    """A problem in the MQTT settings or the files they name, found before connecting."""


def read_password(config: MqttConfig, env: Mapping[str, str] | None = None) -> str | None:
    """The broker password: ``mqtt.password_file``, else the systemd credential
    ``$CREDENTIALS_DIRECTORY/mqtt-password``; None when neither exists."""
    path = credential_path(config.password_file, PASSWORD_CREDENTIAL,
                       os.environ if env is None else env)
    if path is None:
        return None
    return read_secret(path, "MQTT password", "fix mqtt.password_file or LoadCredential=",
                       MqttSetupError)


def tls_context(tls: TlsConfig, env: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """An SSL context for the broker connection, with every file problem named up front."""
    for field in ("ca", "cert", "key", "key_password_file"):
        name = getattr(tls, field)
        if name is not None and not Path(name).is_file():
            raise MqttSetupError(f"mqtt.tls.{field}: {name} is not a readable file")
    if tls.key and not tls.cert:
        raise MqttSetupError("mqtt.tls.key is set without mqtt.tls.cert; set both or neither")
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca)
    except ssl.SSLError as exc:
        raise MqttSetupError(f"mqtt.tls.ca: {tls.ca} is not a PEM CA certificate ({exc})") \
            from None
    if tls.cert:
        key_password = None
        key_password_path = credential_path(tls.key_password_file, KEY_PASSWORD_CREDENTIAL,
                                        os.environ if env is None else env)
        if key_password_path is not None:
            key_password = read_secret(key_password_path, "TLS key passphrase",
                                       "fix mqtt.tls.key_password_file", MqttSetupError)
        try:
            context.load_cert_chain(tls.cert, tls.key, password=key_password)
        except ssl.SSLError as exc:
            raise MqttSetupError(
                f"cannot load the client certificate {tls.cert} / key {tls.key or tls.cert} "
                f"({exc.reason or exc}): is the key passphrase (mqtt.tls.key_password_file) "
                "right, and does the key belong to the certificate?"
            ) from None
    if tls.insecure:
        context.check_hostname = False
    return context
