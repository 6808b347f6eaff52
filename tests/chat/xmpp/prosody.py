"""A throwaway Prosody XMPP server for the XMPP tests (fixtures in conftest.py).

Standard library only. Debian: ``apt-get install prosody`` (`make test` installs it as root,
with the package's own service kept from starting); without it the tests skip, saying so.

    with ProsodyServer(accounts={"sparky": "pw1", "alice": "pw2"}) as srv:
        srv.c2s_port, srv.ca_cert, srv.jid("sparky"), srv.muc_domain
        srv.restart()            # same ports, same data dir: for reconnect tests

Design choices:
  * Everything lives in a temp dir: config, data, pid file, logs, self-signed
    cert.  Nothing under /etc or /var is read or written.
  * c2s on a free loopback port; s2s, HTTP and admin sockets are off.
  * TLS on by default (self-signed cert for ``localhost`` and the MUC domain,
    made with the ``openssl`` CLI).  slixmpp >= 1.8 refuses plaintext
    connections and unencrypted SASL by default, so TLS + ``ca_cert`` is
    the configuration closest to production.  ``tls=False`` gives a plaintext
    server (clients then need ``enable_plaintext=True`` and
    ``feature_mechanisms`` ``unencrypted_scram=True``).
  * ``run_as_root = true`` is written only when started as uid 0; Prosody's
    mod_posix otherwise refuses to start as root, and ``prosodyctl`` would
    otherwise switch to the ``prosody`` user (who cannot read the temp dir).
  * Accounts are created with ``prosodyctl --config <file> register``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["Unavailable", "ProsodyServer", "find_prosody", "free_port"]

INSTALL_HINT = "apt-get install prosody"


class Unavailable(RuntimeError):
    """Prosody (or openssl, for TLS) is not installed: tests should skip."""


class ProsodyError(RuntimeError):
    """Prosody is installed but failed to start / register / stop."""


def find_prosody() -> tuple[str, str]:
    """Return paths of (prosody, prosodyctl) or raise Unavailable.

    $PROSODY_BIN (path of the `prosody` script; `prosodyctl` is looked up
    beside it) overrides the PATH search; pointing it at a missing file is an
    easy way to exercise the skip path.
    """
    override = os.environ.get("PROSODY_BIN")
    if override:
        ctl = os.path.join(os.path.dirname(override), "prosodyctl")
        if not (os.access(override, os.X_OK) and os.access(ctl, os.X_OK)):
            raise Unavailable(f"PROSODY_BIN={override!r} (or prosodyctl beside it) "
                              f"is not executable; {INSTALL_HINT}")
        return override, ctl
    extra = os.pathsep.join(["/usr/bin", "/usr/sbin", "/usr/local/bin"])
    path = os.environ.get("PATH", "") + os.pathsep + extra
    prosody = shutil.which("prosody", path=path)
    prosodyctl = shutil.which("prosodyctl", path=path)
    if not prosody or not prosodyctl:
        raise Unavailable(f"prosody not found on PATH; {INSTALL_HINT}")
    return prosody, prosodyctl


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (tiny race; fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _lua_str(value: str) -> str:
    """Quote a Python string as a Lua string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ProsodyServer:
    """One Prosody process with its own config, data, logs and ports."""

    def __init__(
        self,
        domain: str = "localhost",
        muc_domain: str | None = "conference.localhost",
        accounts: dict[str, str] | None = None,
        tls: bool = True,
        workdir: str | os.PathLike | None = None,
        host: str = "127.0.0.1",
        c2s_port: int | None = None,
        muc_public_jids: bool = True,
        muc_room_locking: bool = False,
        log_level: str = "info",
        extra_modules: tuple[str, ...] = (),
        extra_global_config: str = "",
    ) -> None:
        self.prosody_bin, self.prosodyctl_bin = find_prosody()
        if tls and not shutil.which("openssl"):
            raise Unavailable("openssl not found (needed for tls=True); apt-get install openssl")
        self.domain = domain
        self.muc_domain = muc_domain
        self.tls = tls
        self.host = host
        self.c2s_port = c2s_port or free_port(host)
        self.muc_public_jids = muc_public_jids
        self.muc_room_locking = muc_room_locking
        self.log_level = log_level
        self.extra_modules = tuple(extra_modules)
        self.extra_global_config = extra_global_config
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="prosody-test-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.config_path = self.workdir / "prosody.cfg.lua"
        self.pid_path = self.workdir / "prosody.pid"
        self.log_path = self.workdir / "prosody.log"
        self.err_path = self.workdir / "prosody.err"
        self.console_path = self.workdir / "console.out"
        (self.workdir / "certs").mkdir(exist_ok=True)
        self.cert_path = self.workdir / "certs" / "localhost.crt"
        self.key_path = self.workdir / "certs" / "localhost.key"
        self.proc: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}
        if tls:
            self._make_cert()
        self.write_config()
        for user, password in (accounts or {}).items():
            self.register(user, password)

    # ------------------------------------------------------------------ setup
    @property
    def ca_cert(self) -> str | None:
        """Path of the self-signed cert, to give clients as CA (xmpp.ca_certs)."""
        return str(self.cert_path) if self.tls else None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) to pass to slixmpp's connect()."""
        return (self.host, self.c2s_port)

    def jid(self, user: str) -> str:
        return f"{user}@{self.domain}"

    def room_jid(self, room: str) -> str:
        if not self.muc_domain:
            raise ValueError("server was created without a MUC component")
        return f"{room}@{self.muc_domain}"

    def _make_cert(self) -> None:
        t0 = time.monotonic()
        self.cert_path.parent.mkdir(exist_ok=True)
        names = [self.domain] + ([self.muc_domain] if self.muc_domain else [])
        san = ",".join(f"DNS:{n}" for n in names)
        cmd = [
            "openssl", "req", "-x509", "-nodes", "-days", "2",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-subj", f"/CN={self.domain}",
            "-addext", f"subjectAltName={san}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-keyout", str(self.key_path), "-out", str(self.cert_path),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise ProsodyError(f"openssl failed: {r.stderr}")
        self.timings["cert"] = time.monotonic() - t0

    def config_text(self) -> str:
        w = self.workdir
        lines = [
            "-- generated by prosody_server.py; throwaway test config",
            f"data_path = {_lua_str(str(self.data_dir))}",
            f"pidfile = {_lua_str(str(self.pid_path))}",
            "daemonize = false",
            f"log = {{ {{ levels = {{ min = {_lua_str(self.log_level)} }}, to = \"file\", "
            f"filename = {_lua_str(str(self.log_path))} }}, "
            f"{{ levels = {{ min = \"error\" }}, to = \"file\", filename = {_lua_str(str(self.err_path))} }} }}",
            f"interfaces = {{ {_lua_str(self.host)} }}",
            f"local_interfaces = {{ {_lua_str(self.host)} }}",
            f"c2s_ports = {{ {self.c2s_port} }}",
            "c2s_direct_tls_ports = { }",
            "legacy_ssl_ports = { }",
            "s2s_ports = { }",
            "http_ports = { }",
            "https_ports = { }",
            "component_ports = { }",
            "proxy65_ports = { }",
            # nothing under /etc or /var
            f"certificates = {_lua_str(str(w / 'certs'))}",
            "plugin_paths = { }",
            f"installer_plugin_path = {_lua_str(str(w / 'custom_plugins'))}",
            "admin_socket = " + _lua_str(str(w / "admin.sock")),
            'authentication = "internal_hashed"',
            'storage = "internal"',
            "modules_enabled = { " + "; ".join(_lua_str(m) for m in (
                "roster", "saslauth", "tls", "disco", "ping", "posix", "offline",
                "carbons", "private", "time", "version", "uptime") + self.extra_modules) + " }",
            "modules_disabled = { \"s2s\"; \"http\"; \"admin_shell\"; \"admin_socket\" }",
            "allow_registration = false",
            "use_libevent = false",
        ]
        if os.geteuid() == 0:
            # mod_posix refuses uid 0 ("Danger, Will Robinson!") without this,
            # and prosodyctl would setuid() to the 'prosody' user.
            lines.append("run_as_root = true")
        if self.tls:
            lines += [
                "c2s_require_encryption = true",
                f"ssl = {{ certificate = {_lua_str(str(self.cert_path))}; key = {_lua_str(str(self.key_path))} }}",
            ]
        else:
            lines += [
                "c2s_require_encryption = false",
                "allow_unencrypted_plain_auth = true",
            ]
        if self.extra_global_config:
            lines.append(self.extra_global_config)
        lines += ["", f"VirtualHost {_lua_str(self.domain)}"]
        if self.muc_domain:
            lines += [
                "",
                f"Component {_lua_str(self.muc_domain)} \"muc\"",
                "    restrict_room_creation = false",
                f"    muc_room_locking = {'true' if self.muc_room_locking else 'false'}",
                f"    muc_room_default_public_jids = {'true' if self.muc_public_jids else 'false'}",
                "    muc_room_default_history_length = 20",
                # rooms outlive a restart with their archive, as a team's rooms do (a room that
                # is not persistent is destroyed with its archive when the server stops)
                "    muc_room_default_persistent = true",
                "    modules_enabled = { \"muc_mam\" }",
                "    muc_log_all_rooms = true",
            ]
        return "\n".join(lines) + "\n"

    def write_config(self) -> None:
        self.config_path.write_text(self.config_text())

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["HOME"] = str(self.workdir)
        return env

    def register(self, user: str, password: str, timeout: float = 20.0) -> None:
        """Create (or overwrite) an account; works whether or not the server runs."""
        t0 = time.monotonic()
        r = subprocess.run(
            [self.prosodyctl_bin, "--config", str(self.config_path),
             "register", user, self.domain, password],
            capture_output=True, text=True, timeout=timeout,
            env=self._env(), cwd=self.workdir, stdin=subprocess.DEVNULL,
        )
        if r.returncode != 0:
            raise ProsodyError(
                f"prosodyctl register {user}@{self.domain} failed ({r.returncode}):\n"
                f"{r.stdout}\n{r.stderr}")
        self.timings[f"register:{user}"] = time.monotonic() - t0

    # -------------------------------------------------------------- lifecycle
    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 20.0) -> float:
        """Start prosody in the foreground as a child; return seconds until ready."""
        if self.is_running():
            return 0.0
        t0 = time.monotonic()
        console = open(self.console_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [self.prosody_bin, "--config", str(self.config_path), "-F"],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                cwd=self.workdir, env=self._env(),
                start_new_session=True,  # not killed by the test runner's Ctrl-C group
            )
        finally:
            console.close()
        try:
            self._wait_ready(t0 + timeout)
        except BaseException:
            self.stop()
            raise
        elapsed = time.monotonic() - t0
        self.timings["start"] = elapsed
        return elapsed

    def _wait_ready(self, deadline: float) -> None:
        """Ready = the c2s port answers an XMPP stream header with features."""
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise ProsodyError("prosody exited during startup:\n" + self.diagnostics())
            try:
                if self._probe_stream():
                    return
            except OSError as e:
                last_err = e
            time.sleep(0.05)
        raise ProsodyError(f"prosody not ready after timeout ({last_err}):\n" + self.diagnostics())

    def _probe_stream(self) -> bool:
        with socket.create_connection(self.address, timeout=1.0) as s:
            s.sendall(
                (f"<?xml version='1.0'?><stream:stream to='{self.domain}' version='1.0' "
                 "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>").encode())
            buf = b""
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                chunk = s.recv(4096)
                if not chunk:
                    return False
                buf += chunk
                if b"</stream:features>" in buf:
                    try:
                        s.sendall(b"</stream:stream>")
                    except OSError:
                        pass
                    return True
            return False

    def stop(self, timeout: float = 10.0) -> float:
        """SIGTERM (graceful: Prosody closes client streams), SIGKILL after timeout."""
        if self.proc is None:
            return 0.0
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        elapsed = time.monotonic() - t0
        self.timings["stop"] = elapsed
        return elapsed

    def kill(self) -> None:
        """SIGKILL: simulate a crash (clients see a TCP reset/EOF, no stream close)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def restart(self, down_time: float = 0.0, timeout: float = 20.0, graceful: bool = True) -> float:
        """Stop, optionally stay down for `down_time` s, start on the same port/data.

        graceful=True: SIGTERM (clients get </stream:stream>, ~1.0 s);
        graceful=False: SIGKILL (a crash; clients get EOF, ~0.01 s).
        """
        t0 = time.monotonic()
        if graceful:
            self.stop()
        else:
            self.kill()
        if down_time:
            time.sleep(down_time)
        self.start(timeout=timeout)
        elapsed = time.monotonic() - t0
        self.timings["restart"] = elapsed
        return elapsed

    def cleanup(self) -> None:
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "ProsodyServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    # ----------------------------------------------------------- diagnostics
    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def diagnostics(self, tail: int = 40) -> str:
        out = []
        for p in (self.console_path, self.err_path, self.log_path):
            if p.exists():
                lines = p.read_text(errors="replace").splitlines()[-tail:]
                out.append(f"--- {p.name} ---\n" + "\n".join(lines))
        return "\n".join(out)
