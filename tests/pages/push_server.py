"""The push server (daphne serving config.asgi) as a process of the test's own, against the
test database and a Redis of the test's own, so a test can kill and restart either."""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from channels.layers import channel_layers

from tests.monitoring.celery_harness import ROOT, Redis, free_port, test_database_url, wait_for


def _listening(port: int) -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.3):
        return True
    return False


@dataclass
class PushServer:
    tmp: Path
    redis: Redis
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": test_database_url(),
                "DJANGO_CONN_MAX_AGE": "0",
                "LIVE_REDIS_URL": self.redis.url,
                "LIVE_PREFIX": "clinic-live-test",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def start(self) -> None:
        log = (self.tmp / "daphne.log").open("ab")
        self.popen = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: _listening(self.port), 30, "daphne to listen")

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        wait_for(lambda: not _listening(self.port), 10, "daphne to stop listening")

    def log(self) -> str:
        path = self.tmp / "daphne.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def use_layer(settings, redis: Redis) -> None:
    """Point this process's channel layer (the publisher) at `redis`."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": redis.url, "socket_connect_timeout": 1}],
                "prefix": "clinic-live-test",
                "expiry": 30,
            },
        }
    }
    channel_layers.backends.clear()


@contextlib.contextmanager
def push_server(settings, tmp: Path) -> Iterator[PushServer]:
    redis = Redis(tmp)
    redis.start()
    server = PushServer(tmp=tmp, redis=redis)
    use_layer(settings, redis)
    settings.LIVE_PORT = server.port
    server.start()
    try:
        yield server
    finally:
        server.kill()
        redis.stop()
        channel_layers.backends.clear()
