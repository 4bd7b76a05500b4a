"""Start and stop a real Argilla server (REST API + web UI) on this machine, without Elasticsearch.

``python run.py argilla-up`` runs, all bound to 127.0.0.1:

- ``redis-server`` (Debian package), which argilla-server's background jobs need;
- ``argilla-server`` 2.8.0 (uvicorn) with ``ARGILLA_SEARCH_ENGINE=sqlite``, the project's own
  search backend (``argilla_local.sqlite_search``), its index in one SQLite file;
- its rq worker, with the same backend.

argilla-server pins FastAPI/pydantic versions that conflict with ZenML's, so it runs from a
virtualenv of its own (``requirements-argilla-server.txt``), created on first use under
``~/.cache/embedtune/`` and never inside the project. Its home (SQLite databases, logs, the
generated credentials, the process ids) is ``~/.cache/embedtune/argilla`` unless set otherwise.

This module only uses the standard library, so ``run.py argilla-up`` starts fast and the test
suite can start a server of its own in a temporary home.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = PROJECT_ROOT / "requirements-argilla-server.txt"
HOME_ENV = "EMBEDTUNE_ARGILLA_HOME"
VENV_ENV = "EMBEDTUNE_ARGILLA_VENV"
ADMIN_USERNAME = "admin"
WORKSPACE = "argilla"


class LocalServerError(RuntimeError):
    """The local Argilla server could not be installed, started or stopped."""


def _cache_dir() -> Path:
    return Path(os.environ.get("EMBEDTUNE_CACHE_DIR") or Path.home() / ".cache" / "embedtune")


def default_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or _cache_dir() / "argilla")


def default_venv() -> Path:
    return Path(os.environ.get(VENV_ENV) or _cache_dir() / "argilla-server-venv")


@dataclass(frozen=True)
class LocalArgillaSettings:
    """Where the local server keeps its state and which loopback ports it uses."""

    home: Path = field(default_factory=default_home)
    venv: Path = field(default_factory=default_venv)
    port: int = 6900
    redis_port: int = 6390
    startup_timeout_s: float = 180.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class RunningServer:
    """What a client needs: the URL and the owner's credentials (printed by ``argilla-up``)."""

    url: str
    username: str
    password: str
    api_key: str
    start_seconds: float
    already_running: bool = False


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ virtualenv


def ensure_server_venv(venv: Path) -> Path:
    """Create (once) the argilla-server virtualenv; return its Python.

    A marker holds the hash of ``requirements-argilla-server.txt``: a changed pin re-installs.
    """
    python = venv / "bin" / "python"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    marker = venv / ".embedtune-requirements"
    if python.exists() and marker.exists() and marker.read_text() == digest:
        return python
    _log(f"Installing argilla-server into its own virtualenv {venv} (once, about a minute)...")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise LocalServerError(
            f"Installing argilla-server into {venv} failed:\n{result.stderr[-3000:]}\n"
            f"Check network access to PyPI, or set ${VENV_ENV} to an existing virtualenv."
        )
    marker.write_text(digest)
    return python


# ------------------------------------------------------------------------------ helpers


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _api_ready(url: str, api_key: str) -> bool:
    request = urllib.request.Request(f"{url}/api/v1/me", headers={"X-Argilla-Api-Key": api_key})
    try:
        with urllib.request.urlopen(request, timeout=2.0) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, chars: int = 2500) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


class LocalArgilla:
    """The local server's processes, started and stopped as one unit."""

    def __init__(self, settings: LocalArgillaSettings | None = None):
        self.settings = settings or LocalArgillaSettings()
        home = self.settings.home
        self.data_dir = home / "data"
        self.log_dir = home / "logs"
        self.tmp_dir = home / "tmp"
        self.state_file = home / "state.json"
        self.credentials_file = home / "credentials.json"
        self.search_db = home / "search.sqlite"

    # -- credentials and environment ---------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        """The owner's credentials, generated on first start and kept (mode 600) in the home."""
        if self.credentials_file.exists():
            return json.loads(self.credentials_file.read_text())
        self.settings.home.mkdir(parents=True, exist_ok=True)
        creds = {
            "username": ADMIN_USERNAME,
            "password": secrets.token_urlsafe(12),
            "api_key": "argilla.apikey." + secrets.token_urlsafe(24),
        }
        self.credentials_file.touch(mode=0o600)
        self.credentials_file.write_text(json.dumps(creds))
        return creds

    def _env(self) -> dict[str, str]:
        env = {
            key: value for key, value in os.environ.items()
            if not key.startswith(("ARGILLA_", "VIRTUAL_ENV", "PYTHONHOME"))
        }
        env.update(
            ARGILLA_HOME_PATH=str(self.data_dir),
            ARGILLA_SEARCH_ENGINE="sqlite",
            EMBEDTUNE_ARGILLA_SEARCH_DB=str(self.search_db),
            ARGILLA_REDIS_URL=f"redis://127.0.0.1:{self.settings.redis_port}/0",
            ARGILLA_ENABLE_TELEMETRY="0",
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_OFFLINE="1",
            # Every start copies the 14 MB UI into a new temp dir: keep them where down() cleans.
            TMPDIR=str(self.tmp_dir),
            PYTHONPATH=str(PROJECT_ROOT),
        )
        return env

    # -- state ---------------------------------------------------------------------------------

    def _read_state(self) -> dict | None:
        if not self.state_file.exists():
            return None
        return json.loads(self.state_file.read_text())

    def is_running(self) -> bool:
        state = self._read_state()
        return bool(state) and all(_alive(pid) for pid in state["pids"].values()) and _api_ready(
            self.settings.url, self.credentials()["api_key"]
        )

    # -- start ---------------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")
        # A session of its own: the processes outlive `run.py argilla-up`, and down() stops each
        # group (uvicorn, and the rq worker with the job processes it forks) by its id.
        return subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )

    def up(self) -> RunningServer:
        """Start Redis, migrate the database, create the owner once, start server and worker."""
        started = time.perf_counter()
        creds = self.credentials()
        if self.is_running():
            return RunningServer(self.settings.url, creds["username"], creds["password"], creds["api_key"],
                                 0.0, already_running=True)
        if self._read_state():
            self.down()  # a stale or half-dead previous start
        for port, what in ((self.settings.port, "Argilla"), (self.settings.redis_port, "Redis")):
            if _port_open(port):
                raise LocalServerError(
                    f"Port {port} for {what} on 127.0.0.1 is taken by another process. Stop it or "
                    f"choose another port (run.py argilla-up --port/--redis-port)."
                )
        redis = shutil.which("redis-server")
        if redis is None:
            raise LocalServerError(
                "redis-server is not installed; argilla-server needs it for background jobs. "
                "Install it (Debian/Ubuntu: apt-get install redis-server) and run argilla-up again."
            )
        python = ensure_server_venv(self.settings.venv)
        for folder in (self.data_dir, self.log_dir, self.tmp_dir, self.settings.home / "redis"):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir.mkdir()
        env = self._env()
        entry = [str(python), "-m", "argilla_local.server_entry"]
        pids: dict[str, int] = {}
        try:
            pids["redis"] = self._spawn("redis", [
                redis, "--port", str(self.settings.redis_port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.settings.home / "redis"),
            ], env).pid
            self._write_state(pids)
            self._wait(lambda: _redis_ping(self.settings.redis_port), "Redis", "redis", 20)
            self._cli(entry + ["cli", "database", "migrate"], env, "database migration")
            marker = self.data_dir / ".owner-created"
            if not marker.exists():
                self._cli(entry + [
                    "cli", "database", "users", "create", "--first-name", "Admin", "--username",
                    creds["username"], "--password", creds["password"], "--role", "owner",
                    "--api-key", creds["api_key"], "--workspace", WORKSPACE,
                ], env, "owner creation")
                marker.touch()
            pids["server"] = self._spawn(
                "server", entry + ["server", "--port", str(self.settings.port)], env).pid
            pids["worker"] = self._spawn("worker", entry + ["worker"], env).pid
            self._write_state(pids)
            self._wait(lambda: _api_ready(self.settings.url, creds["api_key"]), "Argilla server", "server",
                       self.settings.startup_timeout_s, pids)
        except BaseException:
            self.down()
            raise
        seconds = time.perf_counter() - started
        return RunningServer(self.settings.url, creds["username"], creds["password"], creds["api_key"], seconds)

    def add_user(self, username: str, password: str, api_key: str, role: str = "annotator") -> None:
        """Create a user with a known API key in the workspace (argilla-server's own CLI)."""
        python = ensure_server_venv(self.settings.venv)
        self._cli([
            str(python), "-m", "argilla_local.server_entry", "cli", "database", "users", "create",
            "--first-name", username, "--username", username, "--password", password, "--role", role,
            "--api-key", api_key, "--workspace", WORKSPACE,
        ], self._env(), f"creation of user {username}")

    def _write_state(self, pids: dict[str, int]) -> None:
        self.state_file.write_text(json.dumps({"pids": pids, "url": self.settings.url}))

    def _cli(self, command: list[str], env: dict[str, str], what: str) -> None:
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise LocalServerError(f"argilla-server {what} failed:\n{(result.stdout + result.stderr)[-3000:]}")

    def _wait(self, ready, what: str, log: str, timeout: float, pids: dict[str, int] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            for name, pid in (pids or {}).items():
                if not _alive(pid) or _reaped(pid):
                    raise LocalServerError(
                        f"{name} exited while starting. Its log ({self.log_dir / (name + '.log')}):\n"
                        f"{_tail(self.log_dir / (name + '.log'))}"
                    )
            time.sleep(0.2)
        raise LocalServerError(
            f"{what} did not become ready within {timeout:.0f} s. Log:\n{_tail(self.log_dir / (log + '.log'))}"
        )

    # -- stop ----------------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop the processes this home started (each process group by its id); keep the data."""
        state = self._read_state()
        stopped = []
        if state:
            pids = state["pids"]
            for name in ("worker", "server", "redis"):
                pid = pids.get(name)
                if pid is None or not _alive(pid):
                    continue
                try:
                    os.killpg(pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                stopped.append(name)
            deadline = time.monotonic() + 15
            for name in stopped:
                pid = pids[name]
                while _alive(pid) and not _reaped(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if _alive(pid) and not _reaped(pid):
                    os.killpg(pid, signal.SIGKILL)
            self.state_file.unlink(missing_ok=True)
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        return stopped


def _reaped(pid: int) -> bool:
    """Reap ``pid`` if it is a finished child of this process (a zombie counts as alive)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid
