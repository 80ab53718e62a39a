"""Local emulators for the Azure adapters' tests: cosmosdb-server and Azurite, from npm.

`ensure_installed()` runs `npm ci` in tools/emulators when its node_modules is missing
(under a file lock, so parallel test runs install once). `start_cosmos()` and
`start_azurite()` launch the servers on free ports picked at run time (several test runs
may share this machine), wait until they answer, and return a handle whose `stop()`
kills the whole process group. Any failure raises `EmulatorError`: the tests that need
an emulator then fail, they are never skipped.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMULATORS_DIR = ROOT / "tools" / "emulators"
NODE_BIN = EMULATORS_DIR / "node_modules" / ".bin"

# Well-known, public development keys (documented by Microsoft for the emulators).
COSMOS_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

START_TIMEOUT = float(os.environ.get("VIGIL_EMULATOR_START_TIMEOUT", "60"))
INSTALL_TIMEOUT = float(os.environ.get("VIGIL_EMULATOR_INSTALL_TIMEOUT", "600"))


class EmulatorError(RuntimeError):
    pass


def installed() -> bool:
    return (NODE_BIN / "cosmosdb-server").exists() and (NODE_BIN / "azurite").exists()


def ensure_installed() -> None:
    """`npm ci --no-audit --no-fund` in tools/emulators unless already installed."""
    if installed():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise EmulatorError("node and npm are needed to install the emulators (tools/emulators); none found on PATH")
    # The lock lives outside the repo so it leaves nothing to commit or ignore.
    digest = hashlib.sha256(str(EMULATORS_DIR).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"vigil-emulators-install-{digest}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if installed():
                return
            command = [npm, "ci", "--no-audit", "--no-fund"]
            if not (EMULATORS_DIR / "package-lock.json").exists():
                command = [npm, "install", "--no-audit", "--no-fund"]
            try:
                result = subprocess.run(command, cwd=EMULATORS_DIR, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                raise EmulatorError(f"{' '.join(command)} timed out after {INSTALL_TIMEOUT:.0f}s") from exc
            if result.returncode != 0 or not installed():
                tail = (result.stderr or result.stdout)[-2000:]
                raise EmulatorError(f"{' '.join(command)} failed in {EMULATORS_DIR} (exit {result.returncode}):\n{tail}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers_http(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


@dataclass
class Emulator:
    name: str
    process: subprocess.Popen
    ports: dict[str, int]
    log_path: Path
    workdir: tempfile.TemporaryDirectory | None = None
    _stopped: bool = field(default=False, repr=False)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the emulator's process group, then kill it if it lingers."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        # Children that outlived the leader.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.workdir is not None:
            self.workdir.cleanup()


def _launch(name: str, command: list[str], ports: dict[str, int], workdir: tempfile.TemporaryDirectory) -> Emulator:
    log_path = Path(workdir.name) / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=workdir.name, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    emulator = Emulator(name=name, process=process, ports=ports, log_path=log_path, workdir=workdir)
    atexit.register(emulator.stop)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = emulator.log_tail()
            emulator.stop()
            raise EmulatorError(f"{name} exited with {process.returncode} before answering:\n{tail}")
        if all(_answers_http(p) for p in ports.values()):
            return emulator
        time.sleep(0.1)
    tail = emulator.log_tail()
    emulator.stop()
    raise EmulatorError(f"{name} did not answer on {ports} within {START_TIMEOUT:.0f}s:\n{tail}")


def _start_with_retries(start, attempts: int = 3) -> Emulator:
    """A port picked free can be taken before the server binds it: try again on new ports."""
    last: EmulatorError | None = None
    for _ in range(attempts):
        try:
            return start()
        except EmulatorError as exc:
            last = exc
            if "EADDRINUSE" not in str(exc):
                raise
    assert last is not None
    raise last


def start_cosmos() -> Emulator:
    """cosmosdb-server over plain HTTP on a free port (`emulator.ports['cosmos']`)."""
    ensure_installed()

    def start() -> Emulator:
        port = free_port()
        workdir = tempfile.TemporaryDirectory(prefix="vigil-cosmos-")
        return _launch(
            "cosmosdb-server",
            [str(NODE_BIN / "cosmosdb-server"), "-p", str(port), "--host", "127.0.0.1", "--no-ssl"],
            {"cosmos": port},
            workdir,
        )

    return _start_with_retries(start)


def start_azurite() -> Emulator:
    """Azurite Blob, Queue and Table on free ports, data in a temp dir removed at stop."""
    ensure_installed()

    def start() -> Emulator:
        ports = {"blob": free_port(), "queue": free_port(), "table": free_port()}
        if len(set(ports.values())) < 3:
            raise EmulatorError("EADDRINUSE: the same free port came back twice")
        workdir = tempfile.TemporaryDirectory(prefix="vigil-azurite-")
        data = Path(workdir.name) / "data"
        data.mkdir()
        command = [
            str(NODE_BIN / "azurite"),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(ports["blob"]),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(ports["queue"]),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(ports["table"]),
            "--location",
            str(data),
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ]
        return _launch("azurite", command, ports, workdir)

    return _start_with_retries(start)


def cosmos_endpoint(emulator: Emulator) -> str:
    return f"http://127.0.0.1:{emulator.ports['cosmos']}/"


def azurite_connection_string(emulator: Emulator) -> str:
    p = emulator.ports
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{p['blob']}/{AZURITE_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{p['queue']}/{AZURITE_ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:{p['table']}/{AZURITE_ACCOUNT};"
    )
