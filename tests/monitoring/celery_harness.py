"""Real Celery worker, beat and redis-server processes for the reliability tests.

Each process runs in its own session (process group) so that a test can SIGKILL a worker
with its prefork children at once. Logs go to the test's tmp directory.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_database_url() -> str:
    """The test database (test_<name>) as a URL for the worker's DATABASE_URL."""
    d = connection.settings_dict
    return f"postgres://{d['USER']}:{d['PASSWORD']}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (a prefork worker and its children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 5) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Cluster:
    """Worker and beat processes sharing one environment (database, broker, timings)."""

    tmp: Path
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)
    _n: int = 0

    def _start(self, name: str, args: list[str]) -> Proc:
        self._n += 1
        log = self.tmp / f"{name}-{self._n}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(  # noqa: S603
            args, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        proc = Proc(name=f"{name}-{self._n}", popen=popen, log=log)
        self.procs.append(proc)
        return proc

    def worker(self) -> Proc:
        proc = self._start(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"w{self._n + 1}@%h",
            ],
        )
        wait_for(lambda: " ready." in proc.text() or not proc.alive(), 60, "the worker to be ready")
        assert proc.alive(), proc.text()[-3000:]
        return proc

    def beat(self) -> Proc:
        schedule = self.tmp / f"beat-schedule-{self._n + 1}"
        proc = self._start(
            "beat",
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO", "-s", str(schedule)],
        )
        wait_for(lambda: "beat: Starting" in proc.text() or not proc.alive(), 60, "beat to start")
        assert proc.alive(), proc.text()[-3000:]
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"===== {p.name}\n{p.text()[-4000:]}" for p in self.procs)


def cluster_env(*, broker_url: str, queue: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.monitoring.worker_settings",
            "DATABASE_URL": test_database_url(),
            "DJANGO_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            # Fast clocks for the test: tick every second, leases 4 s, redelivery after 5 s, the
            # outbox swept every second and a failed message retried after 1 s.
            "FOLLOWUP_TICK_SECONDS": "1",
            "FOLLOWUP_PLAN_SECONDS": "3600",
            "BEDSIDE_TICK_SECONDS": "3600",
            "FOLLOWUP_DISPATCH_LEASE_SECONDS": "4",
            "FOLLOWUP_DISPATCH_BATCH_SIZE": "5",
            "CELERY_VISIBILITY_TIMEOUT": "5",
            "OUTBOX_CLAIM_LEASE_SECONDS": "4",
            "OUTBOX_SWEEP_SECONDS": "1",
            "OUTBOX_RETRY_BASE_SECONDS": "1",
            "OUTBOX_RETRY_MAX_SECONDS": "2",
            "OUTBOX_SEND_BATCH_SIZE": "10",
            "FOLLOWUP_TEST_MAIL_DELAY": "0.03",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def terminate_connections() -> int:
    """pg_terminate_backend() every other connection to the test database (the workers'),
    as a failover or an operator would. Returns how many were terminated."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return int(cursor.fetchone()[0])


@contextlib.contextmanager
def private_redis(tmp: Path) -> Iterator["Redis"]:
    server = Redis(tmp)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Redis:
    """A redis-server of the test's own on a free port (the shared one is never touched)."""

    tmp: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        subprocess.run(  # noqa: S603
            [
                binary,
                "--daemonize",
                "yes",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
                "--pidfile",
                str(self.tmp / f"redis-{self.port}.pid"),
                "--logfile",
                str(self.tmp / f"redis-{self.port}.log"),
            ],
            check=True,
        )
        wait_for(self.ping, 10, "redis-server to answer")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SHUTDOWN NOSAVE: everything queued in it is lost."""
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(b"SHUTDOWN NOSAVE\r\n")
            with contextlib.suppress(OSError):
                s.recv(16)
        wait_for(lambda: not self.ping(), 10, "redis-server to stop")
