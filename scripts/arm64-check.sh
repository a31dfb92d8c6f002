#!/usr/bin/env bash
# The Raspberry Pi path, checked on an x86-64 machine: digitd installed as the README
# tells a Pi user into a Debian bookworm arm64 root (the base of Raspberry Pi OS 64-bit),
# run under qemu-user-static for each emulated CPU, and every result compared with the
# same command run here on x86. Exits non-zero on any difference.
#
#   sudo scripts/arm64-check.sh                          # cortex-a72 (Pi 4), cortex-a76 (Pi 5)
#   sudo DIGITD_ARM64_CPUS=cortex-a53 scripts/arm64-check.sh   # Pi Zero 2 W, Pi 3
#
# Per CPU: both shipped models on the committed real samples (`digitd evaluate`: 1,000
# MNIST test digits, 336 meter crops), `digitd recognize` on a frame of the demo video,
# the water meter of docs/water-meter.png (wheels and dials, the dial model) and
# nine real sudoku rows, `check-config`, and the daemon on the demo video against a
# Mosquitto running inside the root (every state message compared), `install-service
# --root` and `systemd-analyze verify` of what it installed. Once: the runtime guard
# under the emulator's own /proc/cpuinfo (below).
#
# Needs root (debootstrap, chroot, mounts) on Debian; installs qemu-user-static,
# debootstrap and binfmt-support when missing. The root is built once (about 5 min) and
# reused from $DIGITD_ARM64_CACHE (default /var/cache/digitd-arm64); a run on a built root
# takes about 7 min on 2 cores. Not part of CI for that reason. Results: runs/arm64-check/.
#
# Why each run shows the emulated CPU a /proc/cpuinfo of its own: qemu-user 7.2 passes the
# host's x86 /proc/cpuinfo through to the arm64 program, and LiteRT 2.2 and later read the
# CPU's make from it at start and crash (SIGSEGV) when it names no ARM core. A Pi's kernel
# describes its cores there, so the file given is the one a Pi 4 / Pi 5 / Zero 2 W shows.
# The guard check runs once without it: the daemon's runtime check must find the crash.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache=${DIGITD_ARM64_CACHE:-/var/cache/digitd-arm64}
root=$cache/bookworm-arm64
src=/opt/src/digitd            # the checkout inside the root
cpus=${DIGITD_ARM64_CPUS:-cortex-a72 cortex-a76}
out=$repo/runs/arm64-check
started=$SECONDS
say() { echo "arm64-check [$((SECONDS - started)) s]: $*"; }
fail() { echo "arm64-check: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run it as root (debootstrap, chroot and mounts need it)"
[ "$(uname -m)" = x86_64 ] || fail "this checks arm64 from an x86-64 machine; on a Pi run scripts/test.sh"

# -- the host: emulator, binfmt, the x86 side's venv --------------------------------------
missing=()
for pkg in qemu-user-static debootstrap binfmt-support mosquitto mosquitto-clients systemd; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
scripts/setup.sh edge | sed 's/^/  /'

# -- the arm64 root ------------------------------------------------------------------------
if [ ! -x "$root/usr/bin/python3" ]; then
  say "building a Debian bookworm arm64 root in $root (once; about 5 min)"
  rm -rf "$root"
  mkdir -p "$cache"
  debootstrap --arch=arm64 --variant=minbase \
    --include=python3,python3-venv,python3-pip,mosquitto,systemd,procps,ca-certificates \
    bookworm "$root" http://deb.debian.org/debian > "$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log"; fail "debootstrap (log: $cache/debootstrap.log)"; }
fi
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"  # pip's registry
cp /etc/resolv.conf "$root/etc/resolv.conf"
if [ ! -x "$root/usr/bin/kill" ]; then  # the unit's ExecReload=kill; minbase has none
  say "installing procps in the root"
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive chroot "$root" \
    sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends procps' >/dev/null
fi

mounted=()
cleanup() {
  [ -n "${mq_pid:-}" ] && kill "$mq_pid" 2>/dev/null || true
  hide_cpuinfo
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for d in proc sys dev; do
  mountpoint -q "$root/$d" || { mount --bind "/$d" "$root/$d"; mounted+=("$root/$d"); }
done
# What a Pi's kernel shows in /proc/cpuinfo for each CPU (two cores, like this host's /sys).
cpuinfo_for() {
  local part variant revision features
  case "$1" in
    cortex-a72) part=0xd08 variant=0x0 revision=3 features="fp asimd evtstrm crc32 cpuid" ;;
    cortex-a76) part=0xd0b variant=0x4 revision=1
                features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp" ;;
    cortex-a53) part=0xd03 variant=0x0 revision=4 features="fp asimd evtstrm crc32 cpuid" ;;
    *) fail "no /proc/cpuinfo known for CPU $1 (cortex-a53, cortex-a72, cortex-a76)" ;;
  esac
  for n in 0 1; do
    printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\n' "$n" "$features"
    printf 'CPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' "$variant" "$part" "$revision"
  done
}
show_cpuinfo() {  # CPU: bind that CPU's /proc/cpuinfo over the root's
  hide_cpuinfo
  cpuinfo_for "$1" > "$cache/cpuinfo-$1"
  mount --bind "$cache/cpuinfo-$1" "$root/proc/cpuinfo"
}
hide_cpuinfo() {
  while grep -q " $root/proc/cpuinfo " /proc/mounts; do umount "$root/proc/cpuinfo"; done
}

# Run a command in the checkout inside the root, emulating CPU $1, with a clean environment.
in_root() {
  local cpu=$1
  shift
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 QEMU_CPU="$cpu" chroot "$root" /bin/bash -c "cd $src && $*"
}

# The checkout as it is here (tracked and new files), its venv kept between runs.
say "copying this checkout into the root ($src)"
[ -d "$root$src/.venv" ] && mv "$root$src/.venv" "$root/opt/src/.venv-kept"
rm -rf "$root$src"
mkdir -p "$root$src"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$root$src"
[ -d "$root/opt/src/.venv-kept" ] && mv "$root/opt/src/.venv-kept" "$root$src/.venv"
first_cpu=${cpus%% *}
show_cpuinfo "$first_cpu"
say "installing digitd[edge] in the root as the README says (python3 -m venv .venv; pip install -e '.[edge]')"
in_root "$first_cpu" "scripts/setup.sh edge" | sed 's/^/  /'
in_root "$first_cpu" ".venv/bin/pip list --format=freeze 2>/dev/null | grep -iE '^(ai-edge-litert|numpy|opencv|paho|pydantic)'" | sed 's/^/  arm64: /'

# -- the same commands on both sides -------------------------------------------------------
rm -rf "$out"
mkdir -p "$out/x86_64"
.venv/bin/python - "$out/frame.png" <<'PY'
import sys
import cv2
ok, frame = cv2.VideoCapture("demo/digits.avi").read()
assert ok, "demo/digits.avi: no frame"
cv2.imwrite(sys.argv[1], frame)
PY
cp "$out/frame.png" "$root/tmp/digitd-check-frame.png"

# readings DIR DIGITD FRAME RUN: evaluate both models and recognize, results in DIR; RUN
# runs a command line on that side.
readings() {
  local dir=$1 digitd=$2 frame=$3 run=$4
  $run "$digitd -q evaluate --json --mnist-dir tests/data/mnist-sample" > "$dir/digits-eval.json"
  $run "$digitd -q evaluate --json --meter-dir tests/data/meter-crops --sequences 0 --synthetic-counters 0" \
    > "$dir/meter-eval.json" 2> "$dir/meter-eval.log"
  $run "$digitd -q recognize --json $frame tests/data/sudoku-rows/*.png" > "$dir/recognize.jsonl"
  # A water meter: wheels by the meter model, pointer dials by the dial model.
  $run "$digitd -q recognize --json --boxes 6,6,40,64\;52,6,40,64\;98,6,40,64\;144,6,40,64\;190,6,40,64 --dials 6,82,80,80\;92,82,80,80\;178,82,80,80\;264,82,80,80 docs/water-meter.png" >> "$dir/recognize.jsonl"
  $run "$digitd check-config demo/demo.toml" > "$dir/check-config.txt"
}
on_host() { bash -c "$*"; }

# daemon DIR DIGITD RUN MQ_START: the daemon on the demo video against a Mosquitto on a free
# loopback port (started by MQ_START PORT CONF), every state message kept in DIR/states.txt.
daemon_run() {
  local dir=$1 digitd=$2 run=$3 mq_start=$4 conf_dir=$5
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$conf_dir/mq.conf"
  cat > "$conf_dir/daemon.toml" <<EOF
[device]
id = "arm64check"
[camera]
source = "$src_for_config/demo/digits.avi"
interval = 0.25
loop = false
[locate]
mode = "auto"
[decision]
stable_count = 2
[mqtt]
host = "127.0.0.1"
port = $port
[daemon]
state_dir = "$state_for_config"
EOF
  $mq_start &
  mq_pid=$!
  .venv/bin/python - "$port" <<'PY' || fail "Mosquitto did not start on port $port"
import socket, sys, time
for _ in range(300):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
  timeout 900 mosquitto_sub -h 127.0.0.1 -p "$port" -t digitd/arm64check/state -F '%p' > "$dir/states.raw" &
  local sub=$!
  sleep 0.5
  $run "rm -rf $state_for_config; $digitd -q run --config $conf_path_for_run --exit-at-end" > "$dir/daemon.log" 2>&1 \
    || { tail -20 "$dir/daemon.log"; fail "the daemon ($dir/daemon.log)"; }
  sleep 2
  kill "$sub" "$mq_pid" 2>/dev/null || true
  wait "$sub" "$mq_pid" 2>/dev/null || true
  mq_pid=
  .venv/bin/python -c 'import json,sys; [print(json.loads(l)["value"]) for l in open(sys.argv[1]) if l.strip()]' \
    "$dir/states.raw" > "$dir/states.txt"
}

mosquitto_host() { exec mosquitto -c "$out/x86_64/mq.conf" > /dev/null 2>&1; }
mosquitto_root() {  # exec all the way down, so that $! is Mosquitto itself
  exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin QEMU_CPU="$cpu" chroot "$root" \
    /usr/sbin/mosquitto -c /tmp/digitd-check/mq.conf > /dev/null 2>&1
}

say "x86_64: the reference"
readings "$out/x86_64" .venv/bin/digitd "$out/frame.png" on_host
src_for_config=$repo state_for_config=$out/x86_64/state conf_path_for_run=$out/x86_64/daemon.toml \
  daemon_run "$out/x86_64" .venv/bin/digitd on_host mosquitto_host "$out/x86_64"
[ -s "$out/x86_64/states.txt" ] || fail "the x86 daemon published no state"

compare() {  # the two sides' results, timings and paths aside
  .venv/bin/python - "$1" "$2" <<'PY'
import json, math, sys
from pathlib import Path

DROP = {"model", "ms_per_digit_batched", "timings_ms", "file"}
# The meter evaluation's sections on the real crops as they are; the others perturb them
# first with OpenCV (glare, neighbours, reframing), whose rounding differs between x86 and
# arm64 builds, so they are shown but do not count.
REAL = ("dev", "per_meter", "errata", "per_digit")
# Every count, accuracy and reading must be equal. A score or confidence may differ by one
# step of the int8 output (1/256), which kernels for another CPU may round the other way,
# and a median wheel position error by what that step moves a decoded position.
STEP = 1 / 256 + 1e-6
POSITION = 0.005
drift = []

def tolerance(where):
    last = where.rsplit(".", 1)[-1].split("[")[0]
    if last in ("scores", "confidence"):
        return STEP
    return POSITION if "position_error" in last else 0.0

def same(x, y, where=""):
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(same(x[k], y[k], f"{where}.{k}") for k in x if k not in DROP)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(same(a, b, f"{where}[{i}]") for i, (a, b) in enumerate(zip(x, y)))
    if isinstance(x, float) and isinstance(y, float):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        if x != y:
            drift.append((abs(x - y), where))
        return abs(x - y) <= tolerance(where)
    return x == y

a, b = Path(sys.argv[1]), Path(sys.argv[2])
bad = 0
for name in ("digits-eval.json", "meter-eval.json", "recognize.jsonl", "states.txt"):
    ta, tb = (a / name).read_text(), (b / name).read_text()
    if name.endswith((".json", ".jsonl")):
        ra = [json.loads(x) for x in ta.splitlines() if x.strip()]
        rb = [json.loads(x) for x in tb.splitlines() if x.strip()]
        if name == "meter-eval.json":
            for key in sorted(set(ra[0]) - set(REAL) - DROP):
                drift.clear()
                same(ra[0][key], rb[0][key], key)
                if drift:
                    print(f"  ({name} {key}, perturbed on each side: {len(drift)} number(s) differ, "
                          f"at most {max(drift)[0]:.4f})")
            ra, rb = [{k: ra[0][k] for k in REAL}], [{k: rb[0][k] for k in REAL}]
    else:
        ra, rb = ta.split(), tb.split()
    drift.clear()
    ok = len(ra) == len(rb) and all(same(x, y) for x, y in zip(ra, rb))
    bad += not ok
    note = ""
    if drift:
        worst = max(drift)
        note = f"; {len(drift)} number(s) differ by at most {worst[0]:.4f} ({worst[1]})"
    print(f"  {name}: {'same' if ok else 'DIFFERENT'} ({len(ra)} record(s){note})")
    if not ok:
        for i, (x, y) in enumerate(zip(ra, rb)):
            if not same(x, y):
                print(f"    first difference at record {i}:\n      x86:   {str(x)[:300]}\n      arm64: {str(y)[:300]}")
                break
sys.exit(1 if bad else 0)
PY
}

summary() {  # DIR: the figures a person reads
  .venv/bin/python - "$1" <<'PY'
import json, sys
from pathlib import Path
d = Path(sys.argv[1])
dig = json.loads((d / "digits-eval.json").read_text())
met = json.loads((d / "meter-eval.json").read_text())["dev"]
rec = [json.loads(x)["value"] for x in (d / "recognize.jsonl").read_text().splitlines() if x.strip()]
states = (d / "states.txt").read_text().split()
print(f"  digits.tflite on {dig['n']} MNIST test digits: {dig['accuracy']:.3f}; "
      f"meter.tflite on {met['n']} dev crops: near-whole {met['near_whole_accuracy']:.3f}; "
      f"recognize: {' '.join(rec[:3])} ...; daemon: {len(states)} states "
      f"({states[0]} ... {states[-1]})")
PY
}

# install-service into a scratch root inside the arm64 root, then the root's own
# systemd-analyze verify on the units it installed, their ExecStart= the venv it made
# (linked to where the unit expects it), the template as one instance.
install_and_verify() {  # CPU DIR
  local cpu=$1 dir=$2
  in_root "$cpu" "rm -rf /tmp/svc && .venv/bin/digitd install-service --root /tmp/svc --from $src" \
    > "$dir/install-service.txt" 2>&1 || { tail -20 "$dir/install-service.txt"; fail "install-service"; }
  tail -1 "$dir/install-service.txt" | sed 's/^/  install-service --root: /'
  in_root "$cpu" "ln -sfn /tmp/svc/opt/digitd /opt/digitd && mkdir -p /tmp/verify && \
    cp /tmp/svc/etc/systemd/system/digitd.service /tmp/verify/ && \
    cp /tmp/svc/etc/systemd/system/digitd@.service /tmp/verify/digitd@kitchen.service && \
    /opt/digitd/venv/bin/digitd --version >/dev/null && \
    systemd-analyze verify /tmp/verify/digitd.service /tmp/verify/digitd@kitchen.service" \
    > "$dir/verify.txt" 2>&1 || echo "exit status $?" >> "$dir/verify.txt"
  if [ -s "$dir/verify.txt" ]; then
    status=1
    sed 's/^/  verify: /' "$dir/verify.txt"
  else
    echo "  systemd-analyze verify: no complaints"
  fi
}

status=0
for cpu in $cpus; do
  say "arm64, QEMU_CPU=$cpu"
  show_cpuinfo "$cpu"
  mkdir -p "$out/$cpu" "$root/tmp/digitd-check"
  readings "$out/$cpu" .venv/bin/digitd /tmp/digitd-check-frame.png "in_root $cpu"
  src_for_config=$src state_for_config=/tmp/digitd-check/state conf_path_for_run=/tmp/digitd-check/daemon.toml \
    daemon_run "$out/$cpu" .venv/bin/digitd "in_root $cpu" mosquitto_root "$root/tmp/digitd-check"
  summary "$out/$cpu"
  sed 's/^/  /' "$out/$cpu/check-config.txt"
  compare "$out/x86_64" "$out/$cpu" || { status=1; echo "  $cpu: DIFFERS from x86_64"; }
  install_and_verify "$cpu" "$out/$cpu"
done

say "the runtime guard under the emulator's own /proc/cpuinfo (the host's x86 one)"
hide_cpuinfo
set +e
in_root "$first_cpu" ".venv/bin/digitd check-config demo/demo.toml" > "$out/guard.txt" 2>&1
guard=$?
set -e
sed 's/^/  /' "$out/guard.txt"
if [ "$guard" -ne 78 ] || ! grep -q "crashed (SIGSEGV)" "$out/guard.txt"; then
  status=1
  echo "  the guard did not report the crash with exit 78 (exit $guard)"
fi

say "done in $((SECONDS - started)) s: $([ $status = 0 ] && echo "every result on arm64 is the same as on x86_64" || echo "DIFFERENCES above")"
exit $status
