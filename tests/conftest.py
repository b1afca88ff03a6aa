"""Shared pytest fixtures: a real kore serving the real module against the
throwaway PostgreSQL that tests/run.sh started (its settings arrive in the
environment: DATABASE_URL, ADMIN_DATABASE_URL, MASTER_KEY_FILE, ...), and
the fake providers from tests/fakes.

Run everything through `make test`; to run one file against an existing
environment: `. conf/env.sh && /usr/bin/python3 -m pytest tests/api/x.py`.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import psycopg2
import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))

from providers import FakeProviders  # noqa: E402  (tests/fakes)

# The adapters the server loads in tests: the four real providers and the
# toy "example" one, all pointed at the fakes.
TEST_PLUGINS = "whatsapp_cloud,360dialog,messenger,instagram,example"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A kore process with its own port, config and log file."""

    def __init__(self, tmpdir, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = tmpdir
        self.log_path = os.path.join(tmpdir, "kore.log")
        self.extra_env = env or {}
        self.proc = None

    def start(self):
        env = dict(os.environ)
        env.update({"PORT": str(self.port), "PUBLIC_URL": self.url,
                    "RUN_DIR": os.path.join(self.dir, "run"), "WORKERS": "2"})
        env.update(self.extra_env)
        conf = os.path.join(self.dir, "kore.conf")
        with open(conf, "w") as f:
            subprocess.run([os.path.join(ROOT, "conf/kore-conf.sh")],
                           env=env, stdout=f, check=True)
        self.log = open(self.log_path, "ab")
        # A process group of its own, so stop() can reach every worker.
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "kore", "-c", conf, "-f", "-n", "-r"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kore exited: " + self.read_log()[-2000:])
            try:
                requests.get(self.url + "/api/v1/health", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("kore did not answer: " + self.read_log()[-2000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.log.write(b"\n*** kore did not stop in 10 s\n")
                self.dump_stacks()
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            # Workers left behind by a parent that did not stop cleanly.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.log.close()

    def dump_stacks(self):
        """Every thread's stack of every process of this kore into its
        log: what a wedged worker was doing."""
        if shutil.which("gdb") is None:
            return
        pids = subprocess.run(["pgrep", "-g", str(self.proc.pid)],
                              capture_output=True, text=True).stdout.split()
        for pid in pids:
            self.log.write(f"\n*** stacks of {pid}\n".encode())
            self.log.flush()
            try:
                subprocess.run(["gdb", "-p", pid, "-batch", "-nx",
                                "-ex", "thread apply all bt"],
                               stdout=self.log, stderr=subprocess.DEVNULL,
                               timeout=20)
            except subprocess.TimeoutExpired:
                # A stuck gdb must not hide the failure being reported
                # nor keep stop() from killing kore.
                self.log.write(b"(gdb timed out)\n")

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that timed out waiting for the server leaves the server's
    stacks in its log (kore.log under the session's tmp dir)."""
    outcome = yield
    if (outcome.get_result().failed and call.excinfo is not None and
            call.excinfo.errisinstance((requests.Timeout, socket.timeout))):
        srv = item.funcargs.get("server")
        if isinstance(srv, Server):
            srv.dump_stacks()


@pytest.fixture(scope="session")
def fakes():
    """The fake providers (tests/fakes/providers.py) on a free port, with
    the demo accounts, for the whole session. Tests share it: add accounts
    of your own (unique ids and tokens) rather than reset() it, and cancel
    the rules you program."""
    fake = FakeProviders(port=free_port())
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory, fakes):
    env = dict(fakes.bases)
    env["PLUGINS"] = TEST_PLUGINS
    srv = Server(str(tmp_path_factory.mktemp("kore")), env=env).start()
    yield srv
    srv.stop()
    log = srv.read_log()
    assert "sandbox violation" not in log, "seccomp killed a worker"
    assert "died" not in log, "a worker died:\n" + log[-3000:]


@pytest.fixture(scope="session")
def admin_db():
    """A superuser connection, for setting up and inspecting state."""
    conn = psycopg2.connect(os.environ["ADMIN_DATABASE_URL"])
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def app_db_url():
    return os.environ["DATABASE_URL"]
