"""The daemon's configuration: one TOML file, validated strictly.

Every field has a default and a description except ``camera.source``; an unknown
key is an error that names the key and the file. :func:`load_config` collects
every problem at once (field path + reason), so ``digitd check-config`` can list
them all and exit 78.
"""

from __future__ import annotations

import json
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigurationError

Box = Annotated[list[int], Field(min_length=4, max_length=4)]
Point = Annotated[list[float], Field(min_length=2, max_length=2)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceConfig(Section):
    id: str = Field(
        default_factory=lambda: socket.gethostname() or "digitd",
        description="device id used in topics and Home Assistant; default: the hostname",
        pattern=r"^[A-Za-z0-9_-]+$",
        min_length=1,
        max_length=64,
    )
    name: str | None = Field(None, description="human name shown in Home Assistant")


class CameraConfig(Section):
    source: str = Field(
        description="camera index (0), /dev/videoN, video file, image folder, "
        "rtsp:// or http:// URL, or 'picamera2'",
        min_length=1,
    )
    interval: float = Field(
        1.0, ge=0.0, le=86400.0,
        description="seconds between readings (0: as fast as frames come)",
    )
    width: int | None = Field(None, ge=16, le=8192, description="requested capture width")
    height: int | None = Field(None, ge=16, le=8192, description="requested capture height")
    fps: float | None = Field(None, gt=0, le=240, description="requested capture frame rate")
    loop: bool = Field(False, description="video file / image folder: start again at the end")
    reopen_min: float = Field(1.0, gt=0, description="first wait before reopening a camera (s)")
    reopen_max: float = Field(60.0, gt=0, description="longest wait between reopen attempts (s)")
    read_timeout: float = Field(
        10.0, gt=0, description="a camera that delivers no frame for this long is reopened (s)"
    )
    rotate: Literal[0, 90, 180, 270] = Field(0, description="rotate frames clockwise (degrees)")

    @model_validator(mode="after")
    def _reopen_order(self) -> CameraConfig:
        if self.reopen_max < self.reopen_min:
            raise ValueError(f"reopen_max ({self.reopen_max:g} s) is below reopen_min "
                             f"({self.reopen_min:g} s); make reopen_max at least reopen_min")
        return self


class ModelConfig(Section):
    path: str | None = Field(
        None, description="digit model for locate mode 'auto'; default: the shipped digits.tflite"
    )
    meter_path: str | None = Field(
        None,
        description="meter-window model for locate mode 'boxes'; default: the shipped "
        "meter.tflite",
    )
    dial_path: str | None = Field(
        None, description="pointer-dial model for locate.dials; default: the shipped dial.tflite"
    )
    threads: int = Field(1, ge=1, le=16, description="interpreter threads")


class LocateConfig(Section):
    mode: Literal["auto", "boxes"] = Field(
        "auto", description="auto: find digits; boxes: fixed per-digit boxes (meters)"
    )
    roi: Box | None = Field(None, description="[x, y, w, h] region of the frame to read")
    warp: list[Point] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description="four [x, y] corners (TL, TR, BR, BL) of the display, straightened first",
    )
    boxes: list[Box] = Field(
        default_factory=list,
        description="mode boxes: [x, y, w, h] per digit, inside the ROI (after warp)",
    )
    polarity: Literal["auto", "dark_on_light", "light_on_dark"] = Field(
        "auto", description="ink polarity; auto decides per image"
    )
    min_height: float = Field(
        0.05, gt=0, le=1, description="auto: smallest digit height as a fraction of the ROI"
    )
    max_digits: int = Field(16, ge=1, le=64, description="auto: at most this many digits")
    decimals: int = Field(
        0, ge=0, le=8, description="the last N digits are decimals (meter: 3 for litres)"
    )
    extended_resolution: bool = Field(
        False,
        description="boxes on counter wheels: add the last wheel's tenth as one more decimal",
    )
    display: Literal["wheels", "lcd", "handwriting"] = Field(
        "wheels",
        description="boxes: 'wheels' for counter wheels (the last one turns continuously); "
        "'lcd' for digits that jump (LCD or LED segments): each box is its nearest digit, "
        "and leading boxes that show no digit (or only a weak guess) are unlit places; "
        "'handwriting' for a handwritten or printed digit per box (a form, a label): read "
        "by the digit model, which searches the box and a margin around it",
    )
    transition_start: float = Field(
        9.0, ge=0, le=10,
        description="counter wheels: where in its right neighbour's turn a wheel starts "
        "moving to its next digit (9.0: while the neighbour passes 9 -> 0; 0: continuously)",
    )
    wheel_tolerance: float = Field(
        0.2, gt=0, le=0.5,
        description="counter wheels: how far (in digits) a wheel may stand from where its "
        "right neighbour's carry puts it; a frame with a wheel further off is refused as a "
        "misread (0.5: never)",
    )
    dials: list[Box] = Field(
        default_factory=list,
        description="mode boxes: [x, y, w, h] per analog pointer dial, in frame pixels (not "
        "the ROI or warp), most significant first (x0.1 m3, x0.01, ...): their positions "
        "are further decimals after the wheels",
    )
    dial_directions: list[Literal["auto", "cw", "ccw"]] = Field(
        default_factory=list,
        description="per dial: how its scale is numbered, 'cw', 'ccw' or 'auto' (found from "
        "the numerals); empty: all 'auto'",
    )
    dial_tolerance: float = Field(
        0.35, gt=0, le=0.5,
        description="dials: how far (in scale units) a dial may stand from where its finer "
        "neighbour's turn puts it before the frame is refused as a misread (0.5: never)",
    )
    unreadable_dial: Literal["refuse", "coarser"] = Field(
        "refuse",
        description="a dial that cannot be read: 'refuse' the frame, or publish the value "
        "to the last dial read before it ('coarser')",
    )

    @model_validator(mode="after")
    def _boxes_for_box_mode(self) -> LocateConfig:
        if self.mode == "boxes" and not self.boxes and not self.dials:
            raise ValueError("mode 'boxes' needs at least one box in locate.boxes "
                             "(or a dial in locate.dials)")
        if self.dials and self.mode != "boxes":
            raise ValueError("locate.dials needs mode = 'boxes' (set it, with the wheels' "
                             "boxes if the meter has any)")
        if self.dials and self.display != "wheels":
            raise ValueError(f"locate.dials go with counter wheels, not display = "
                             f"{self.display!r}")
        if self.dial_directions and len(self.dial_directions) not in (1, len(self.dials)):
            raise ValueError(f"locate.dial_directions has {len(self.dial_directions)} entries "
                             f"for {len(self.dials)} dials: give one per dial, one for all, "
                             "or none (all 'auto')")
        for box in self.dials:
            if box[2] < 8 or box[3] < 8:
                raise ValueError(f"dial {box}: a dial box must be at least 8x8 pixels")
        for box in self.boxes:
            if box[2] <= 0 or box[3] <= 0:
                raise ValueError(f"box {box}: width and height must be positive")
        if self.roi is not None and (self.roi[2] <= 0 or self.roi[3] <= 0):
            raise ValueError(f"roi {self.roi}: width and height must be positive")
        return self

    def directions(self) -> list[str]:
        """Each dial's direction setting, "auto" where none is given."""
        given: list[str] = list(self.dial_directions) or ["auto"]
        return given * len(self.dials) if len(given) == 1 else given


# The one confidence floor: the daemon's decisions, `recognize`, `snapshot` and the
# evaluations apply it in one place (vision.decide.apply_floor / Decider).
DEFAULT_MIN_CONFIDENCE = 0.6


class DecisionConfig(Section):
    min_confidence: float = Field(
        DEFAULT_MIN_CONFIDENCE, ge=0, le=1,
        description="a digit below this confidence rejects the reading",
    )
    expected_digits: int | None = Field(
        None, ge=1, le=64, description="reject readings with another number of digits"
    )
    stable_count: int = Field(
        2, ge=1, le=100, description="identical readings in a row before publishing"
    )
    heartbeat: float = Field(
        300.0, ge=0, description="republish an unchanged value after this many seconds (0: off)"
    )
    meter: bool = Field(False, description="meter rules: value never decreases, bounded rate")
    leak_hours: float = Field(
        24.0, ge=0,
        description="with dials: report a leak when the flow has not stopped (10 min without "
        "a rise) for this many hours (0: off)",
    )
    allow_decrease: bool = Field(False, description="meter: accept a lower value")
    max_rate: float | None = Field(
        None, gt=0, description="meter: largest plausible increase per hour (units/h)"
    )
    recover_after: int = Field(
        5, ge=1, description="meter: accept a rejected value after N agreeing readings"
    )
    confirm_jump: int = Field(
        10, ge=0,
        description="meter: a rise of this many steps of the last digit or more (10: more "
        "than the last wheel turns between two published values, as one misread wheel left "
        "of it gives) is published only after recover_after readings in a row that count on "
        "from it; a decrease of fewer steps is waited out, never recovered into, a larger one "
        "recovered into after the same run (or as many identical readings); a first value "
        "(none persisted) waits for the same run of readings (0: off)",
    )


class TlsConfig(Section):
    ca: str | None = Field(None, description="CA certificate file (PEM); system CAs if unset")
    cert: str | None = Field(None, description="client certificate file (PEM)")
    key: str | None = Field(None, description="client key file (PEM)")
    key_password_file: str | None = Field(None, description="file holding the key passphrase")
    insecure: bool = Field(False, description="skip hostname verification (testing only)")


class MqttConfig(Section):
    host: str | None = Field(
        None, min_length=1, max_length=253, pattern=r"^[^\s/#?@]+$",
        description="broker host name or address; unset: the embedded broker on 127.0.0.1",
    )
    port: int = Field(1883, ge=1, le=65535)
    base_topic: str | None = Field(None, description="default: digitd/<device id>")
    client_id: str | None = Field(
        None, min_length=1, max_length=128, pattern=r"^[^\x00]+$",
        description="default: digitd-<device id>",
    )
    keepalive: int = Field(30, ge=5, le=3600)
    protocol: Literal["5", "3.1.1"] = Field(
        "5",
        description="MQTT version; 5 lets the broker drop oversized commands before they reach "
        "the device (3.1.1 for old brokers; the embedded broker always uses 3.1.1)",
    )
    username: str | None = None
    password_file: str | None = Field(
        None,
        description="file holding the password; else $CREDENTIALS_DIRECTORY/mqtt-password",
    )
    tls: TlsConfig | None = None
    stats_interval: float = Field(60.0, ge=1, description="seconds between stats messages")
    outbox_max: int = Field(
        10000, ge=10, description="readings kept on disk while offline; oldest dropped beyond"
    )
    max_command_bytes: int = Field(1024, ge=16, le=65536, description="larger commands refused")

    @model_validator(mode="after")
    def _topic_is_plain(self) -> MqttConfig:
        if self.base_topic is not None and (
            not self.base_topic
            or any(c in self.base_topic for c in "#+\0")
            or self.base_topic.startswith("/")
            or self.base_topic.endswith("/")
        ):
            raise ValueError(
                f"base_topic {self.base_topic!r}: no wildcards (# +), no leading or trailing /"
            )
        return self


class HomeAssistantConfig(Section):
    discovery: bool = Field(True, description="publish Home Assistant discovery")
    prefix: str = Field(
        "homeassistant", min_length=1, max_length=256,
        # A wildcard or an empty level here passes MQTT's own checks nowhere: nothing
        # would ever be delivered.
        pattern=r"^[^#+/\x00]+(/[^#+/\x00]+)*$",
        description="discovery prefix (topic levels, no wildcards # +)",
    )
    device_class: Literal["water", "gas", "energy", "none"] = Field(
        "none", description="meter kind, sets device_class"
    )
    unit: str | None = Field(None, description="unit of measurement (m³, kWh, ...)")
    support_url: str | None = Field(
        None, pattern=r"^https?://\S+$", max_length=512,
        description="the URL Home Assistant shows for digitd in the discovery origin "
        "(where your installation's documentation or repository lives)",
    )
    state_class: Literal["measurement", "total", "total_increasing"] | None = Field(
        None, description="default: total for a meter, measurement otherwise"
    )

    def flow_unit(self) -> tuple[str, float]:
        """A flow's unit and its factor from the value's: litres a minute for a value in
        m³ or L (what Home Assistant's water dashboard shows), else the value's unit a
        minute."""
        if self.unit == "m³":
            return "L/min", 1000.0
        if self.unit == "L":
            return "L/min", 1.0
        return f"{self.unit or 'units'}/min", 1.0


class DaemonConfig(Section):
    state_dir: str = Field(
        "", description="outbox and state; default $STATE_DIRECTORY or ~/.local/state/digitd"
    )
    snapshot_on_error: bool = Field(False, description="save the frame of a rejected reading")
    collect_dir: str | None = Field(
        None,
        description="boxes mode: save box crops read with low confidence or refused here "
        "(relative: inside the state directory), to label and fine-tune with; off when unset",
    )
    collect_below: float = Field(
        0.8, ge=0, le=1, description="collect a box read with a confidence below this"
    )
    collect_interval: float = Field(
        60.0, ge=0, description="collect the same box at most once per this many seconds"
    )
    collect_max_files: int = Field(500, ge=1, description="collect at most this many crops")
    collect_max_bytes: int = Field(
        20_000_000, ge=1000, description="collect at most this many bytes of crops"
    )


class WebConfig(Section):
    enabled: bool = Field(
        False, description="serve the set-up page (live frame, boxes, reading, labelling)"
    )
    listen: str = Field(
        "127.0.0.1:8321", pattern=r"^(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):\d{1,5}$",
        description="HOST:PORT to serve on; any address but loopback needs a password",
    )
    username: str = Field("digitd", min_length=1, max_length=64, pattern=r"^[^:\s]+$",
                          description="user name for the page's password")
    password_file: str | None = Field(
        None, description="file holding the page's password; else "
        "$CREDENTIALS_DIRECTORY/web-password; required unless listen is loopback",
    )

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @model_validator(mode="after")
    def _port_in_range(self) -> WebConfig:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"listen {self.listen!r}: the port must be 1..65535")
        return self


class DigitdConfig(Section):
    device: DeviceConfig = Field(default_factory=DeviceConfig)
    camera: CameraConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    locate: LocateConfig = Field(default_factory=LocateConfig)
    decision: DecisionConfig = Field(default_factory=DecisionConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    homeassistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    web: WebConfig = Field(default_factory=WebConfig)

    @property
    def base_topic(self) -> str:
        return self.mqtt.base_topic or f"digitd/{self.device.id}"


class ConfigError(ConfigurationError):
    """A configuration file with one or more problems; ``errors`` lists each one."""

    def __init__(self, path: Path | str, errors: list[str]) -> None:
        self.path = str(path)
        self.errors = errors
        super().__init__(f"{path}: " + "; ".join(errors))


def _format(err: Mapping[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__") or "(top level)"
    kind = err.get("type")
    if kind == "extra_forbidden":
        return f"{loc}: unknown key (misspelt, or in the wrong section?)"
    if kind == "missing":
        return f"{loc}: required, but missing"
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{loc}: {msg}"


def parse_config(data: dict[str, object], path: Path | str = "<config>") -> DigitdConfig:
    try:
        return DigitdConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, [_format(e) for e in exc.errors()]) from None


def load_config(path: str | Path) -> DigitdConfig:
    """Read and validate a TOML config; raise :class:`ConfigError` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read: {exc}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from None
    except RecursionError:
        # tomllib recurses once per level of nested arrays/tables.
        raise ConfigError(path, ["not valid TOML: values nested too deeply"]) from None
    try:
        cfg = parse_config(data, path)
    except RecursionError:
        raise ConfigError(path, ["values nested too deeply"]) from None
    return resolve_paths(cfg, path.parent)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def locate_toml(locate: LocateConfig) -> str:
    """The ``[locate]`` section for these settings: the mode and what is not a default."""
    defaults = LocateConfig()
    lines = ["[locate]"]
    for name, value in locate.model_dump().items():
        if value is None or (name != "mode" and value == getattr(defaults, name)):
            continue
        lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _resolved(value: str | None, base: Path) -> str | None:
    if not value:
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p).absolute())


def resolve_paths(cfg: DigitdConfig, base: Path) -> DigitdConfig:
    """Relative file names in the config are relative to the config file's folder, not to
    wherever the daemon was started from (under systemd that is ``/``).

    The camera source is resolved where it is opened (it may be a device, a URL or an
    index); ``collect_dir`` is relative to the state directory.
    """
    model = cfg.model.model_copy(update={
        "path": _resolved(cfg.model.path, base),
        "meter_path": _resolved(cfg.model.meter_path, base),
        "dial_path": _resolved(cfg.model.dial_path, base),
    })
    tls = cfg.mqtt.tls
    if tls is not None:
        tls = tls.model_copy(update={name: _resolved(getattr(tls, name), base)
                                     for name in ("ca", "cert", "key", "key_password_file")})
    mqtt = cfg.mqtt.model_copy(update={
        "password_file": _resolved(cfg.mqtt.password_file, base), "tls": tls,
    })
    daemon = cfg.daemon.model_copy(update={"state_dir": _resolved(cfg.daemon.state_dir, base)})
    web = cfg.web.model_copy(update={"password_file": _resolved(cfg.web.password_file, base)})
    return cfg.model_copy(update={"model": model, "mqtt": mqtt, "daemon": daemon, "web": web})
