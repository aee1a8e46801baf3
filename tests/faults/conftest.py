"""The fault-injection rig: `followup` processes over real Redis and PostgreSQL, a Redis server of
our own that can be killed and restarted, and the end state every run must reach.

The expected end state is worked out from the input alone, in this process: the events
received are the distinct (source, id) of the input; cases and staff are the last word (by
time, then source and id) of their events; obligations, tracks and linked facts are what the
pure rule engine (services.rules.ledger, no database, no broker) derives from the distinct
events. A clean single-process `followup serve` run of a 50,000-event mix ends in exactly that
state (checked when this suite was written), so any difference after a fault is the fault's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest
import redis

from tests.conftest import POSTGRES_URL
from tests.e2e.conftest import FOLLOWUP, free_port

# Low so that a killed worker's entries are taken over within seconds, not a minute.
FAULT_ENV = {
    "FOLLOWUP_RECLAIM_IDLE_MS": "2000",
    "FOLLOWUP_RECLAIM_EVERY": "0.5",
    "FOLLOWUP_BATCH_SIZE": "250",
}


class Progress:
    """Timestamped progress lines (run pytest with -s to see them as they happen)."""

    def __init__(self, name: str) -> None:
        self.name, self.started = name, time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, message: str) -> None:
        print(f"[{self.name} {self.elapsed():6.1f}s] {message}", flush=True)


# --- processes --------------------------------------------------------------------------------


class Serve:
    """One `followup serve --no-http` process (and, with --workers N, its N-1 children)."""

    def __init__(
        self,
        rig: Rig,
        name: str,
        *args: str,
        http_port: int | None = None,
        own_group: bool = False,
    ) -> None:
        """`own_group`: in a process group (session) of its own, as if on a host of its own:
        `kill_host` then ends it and every process it started at once."""
        self.name = name
        self.http_port = http_port
        self.own_group = own_group
        self.log_path = rig.cwd / f"serve-{name}.log"
        self._log = self.log_path.open("w")
        http = ["--port", str(http_port)] if http_port else ["--no-http"]
        self.proc = subprocess.Popen(
            [FOLLOWUP, "serve", *http, *args],
            env=rig.env,
            cwd=rig.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def workers(self) -> list[psutil.Process]:
        """The worker processes this serve supervises (zombies not yet reaped left out)."""
        try:
            children = psutil.Process(self.pid).children(recursive=False)
        except psutil.NoSuchProcess:
            return []
        found = []
        for child in children:
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child)
            except psutil.NoSuchProcess:
                continue
        return found

    def wait_for_workers(self, count: int, within: float = 60.0) -> list[psutil.Process]:
        deadline = time.monotonic() + within
        while len(found := self.workers()) < count:
            assert self.alive(), f"serve {self.name} exited at start-up:\n{self.tail()}"
            assert time.monotonic() < deadline, f"serve {self.name} did not start {count} workers"
            time.sleep(0.2)
        return found

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.exit_code = self.proc.wait(timeout=30)
        self._log.close()

    def kill_host(self) -> None:
        """SIGKILL to its whole process group at once (the serve, its decoding helper, any
        workers): nothing of it runs on to finish or acknowledge a batch."""
        assert self.own_group, f"serve {self.name} shares the test's process group"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.exit_code = self.proc.wait(timeout=30)
        self._log.close()

    def health(self) -> tuple[int, dict[str, Any]]:
        """GET /health: the status code and the body (0 and {} while nothing answers)."""
        assert self.http_port, f"serve {self.name} runs without HTTP"
        url = f"http://127.0.0.1:{self.http_port}/health"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return int(answer.status), dict(json.loads(answer.read()))
        except urllib.error.HTTPError as error:
            return int(error.code), dict(json.loads(error.read()))
        except OSError:
            return 0, {}

    def stop(self, within: float = 90.0) -> int:
        """SIGTERM and wait: the graceful shutdown's exit code (0 is clean)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=within)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
                self.exit_code = -999  # did not stop within the time
        if self.exit_code is None:
            self.exit_code = self.proc.returncode
        if not self._log.closed:
            self._log.close()
        return self.exit_code

    def tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(compact(line) for line in text[-lines:])


def compact(line: str) -> str:
    """A JSON log line in one short line: time, level, message, extras, an exception's last line."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line[:300]
    if not isinstance(entry, dict):
        return line[:300]
    extras = {
        k: v
        for k, v in entry.items()
        if k not in ("time", "level", "logger", "message", "exception", "error")
    }
    text = f"{str(entry.get('time', ''))[11:23]} {entry.get('level', '')}: {entry.get('message')}"
    if extras:
        text += f" {extras}"
    if cause := _cause(entry):
        text += f" | {cause}"
    return text[:400]


def _cause(entry: Mapping[str, Any]) -> str:
    """The line that says what went wrong: a traceback's last, an error text's first."""
    if exception := str(entry.get("exception") or "").strip():
        return exception.splitlines()[-1][:120]
    if error := str(entry.get("error") or "").strip():
        return error.splitlines()[0][:120]
    return ""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Rig:
    """Environment, processes and the Redis view of one fault run."""

    def __init__(
        self,
        cwd: Path,
        *,
        database_url: str,
        redis_url: str,
        namespace: str,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.cwd = cwd
        self.namespace = namespace
        self.stream, self.group_name = f"{namespace}:events", f"{namespace}:tracker"
        self.database_url = database_url
        self.env = {
            **os.environ,
            "FOLLOWUP_DATA_DIR": str(cwd / "var"),
            "FOLLOWUP_DATABASE_URL": database_url,
            "FOLLOWUP_REDIS_URL": redis_url,
            "FOLLOWUP_NAMESPACE": namespace,
            **FAULT_ENV,
            **(extra or {}),
        }
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5)
        self.serves: list[Serve] = []

    def __enter__(self) -> Rig:
        return self

    def __exit__(self, *_: object) -> None:
        """Whatever the test left running ends, workers first (only ours, by pid)."""
        for serve in self.serves:
            for worker in serve.workers():
                with contextlib.suppress(psutil.NoSuchProcess):
                    worker.kill()
            if serve.own_group:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(serve.pid, signal.SIGKILL)  # its decoding helper too
            if serve.alive():
                serve.proc.kill()
                serve.proc.wait(timeout=30)
        self.redis.close()

    def serve(
        self, name: str, *args: str, http_port: int | None = None, own_group: bool = False
    ) -> Serve:
        started = Serve(self, name, *args, http_port=http_port, own_group=own_group)
        self.serves.append(started)
        return started

    def write_lines(self, name: str, lines: Iterable[str]) -> Path:
        path = self.cwd / f"{name}.jsonl"
        path.write_text("".join(f"{line}\n" for line in lines))
        return path

    def publish(self, name: str, lines: Iterable[str]) -> subprocess.Popen[str]:
        """`followup publish FILE` in the background."""
        path = self.write_lines(name, lines)
        return subprocess.Popen(
            [FOLLOWUP, "publish", str(path)],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def followup(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [FOLLOWUP, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def status(self) -> dict[str, Any]:
        done = self.followup("status", "--json")
        assert done.returncode == 0, f"followup status failed:\n{done.stderr[-2000:]}"
        return dict(json.loads(done.stdout))

    def group(self) -> dict[str, int]:
        """The group as Redis sees it: undelivered, pending, acked and lag (= undelivered +
        pending). Redis forgets `entries-read` when it reloads its AOF (XINFO then reports no
        lag), so undelivered entries are counted, as `followup status` does."""
        entries = int(self.redis.xlen(self.stream))
        info = next(
            (
                g
                for g in self.redis.xinfo_groups(self.stream)
                if _text(g["name"]) == self.group_name
            ),
            None,
        )
        if info is None:
            return {"undelivered": entries, "pending": 0, "acked": 0, "lag": entries}
        pending = int(info["pending"])
        undelivered = info["lag"]
        if undelivered is None:
            after = f"({_text(info['last-delivered-id'])}"
            undelivered = sum(1 for _ in self.redis.xrange(self.stream, min=after, max="+"))
        undelivered = int(undelivered)
        return {
            "undelivered": undelivered,
            "pending": pending,
            "acked": entries - undelivered - pending,
            "lag": undelivered + pending,
        }

    def wait_acked(self, at_least: int, within: float) -> int:
        deadline = time.monotonic() + within
        while (acked := self.group()["acked"]) < at_least:
            assert time.monotonic() < deadline, f"only {acked} of {at_least} entries acked"
            time.sleep(0.2)
        return acked

    def settle(
        self,
        say: Progress,
        *,
        published: int,
        within: float,
        check: Callable[[], None] = lambda: None,
    ) -> float:
        """Wait until every published entry is delivered and acknowledged; seconds it took."""
        started = time.monotonic()
        last_report = 0.0
        while True:
            check()
            info = self.group()
            entries = int(self.redis.xlen(self.stream))
            if info["lag"] == 0 and entries >= published:
                return time.monotonic() - started
            waited = time.monotonic() - started
            if waited - last_report >= 5:
                say(f"settling: {info} of {entries} entries")
                last_report = waited
            assert waited < within, (
                f"not settled after {within:.0f}s: {info} of {entries} entries\n" + self.logs()
            )
            time.sleep(0.25)

    def metrics(self) -> dict[str, str]:
        raw = self.redis.hgetall(f"{self.namespace}:metrics")
        return {k.decode(): v.decode() for k, v in raw.items() if b":" not in k}

    def log_summary(self) -> Counter[str]:
        """How often each warning/error message appears in all serve logs."""
        seen: Counter[str] = Counter()
        for serve in self.serves:
            for line in serve.log_path.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    if line.strip() and not line.startswith(" "):
                        seen[f"(text) {line.strip()[:90]}"] += 1
                    continue
                if isinstance(entry, dict) and entry.get("level") in (
                    "warning",
                    "error",
                    "critical",
                ):
                    cause = _cause(entry)
                    seen[f"{entry['level']}: {entry.get('message', '')[:80]} | {cause}"] += 1
        return seen

    def failure_causes(self, limit: int = 3) -> str:
        """The errors of the entries the consumers reported as failed, most common first."""
        causes: Counter[str] = Counter()
        for serve in self.serves:
            for line in serve.log_path.read_text(errors="replace").splitlines():
                if '"entry failed"' not in line:
                    continue
                try:
                    error = str(json.loads(line).get("error", ""))
                except ValueError:
                    continue
                causes[error.strip().splitlines()[0][:160] if error.strip() else "?"] += 1
        return (
            "; ".join(f"{n} x {cause}" for cause, n in causes.most_common(limit)) or "none logged"
        )

    def logs(self, lines: int = 25) -> str:
        summary = "\n".join(f"  {n:6d}  {m}" for m, n in self.log_summary().most_common(20))
        shown = [s for s in self.serves if s.proc.poll() != -signal.SIGKILL]  # not our kills
        tails = "\n".join(
            f"--- serve {s.name} (pid {s.pid}, exit {s.proc.poll()}) last {lines} lines:\n"
            f"{s.tail(lines)}"
            for s in shown
        )
        return f"log warnings/errors:\n{summary or '  none'}\n{tails}"


# --- a Redis server of our own -----------------------------------------------------------------


class OwnRedis:
    """redis-server on a free port, AOF with fsync on every write: what is in the stream survives
    a kill -9 as well as a SHUTDOWN. `persistent=False`: no AOF and no snapshots, so a restart
    comes back empty (as a cache-configured or replaced Redis does)."""

    def __init__(self, directory: Path, *, persistent: bool = True) -> None:
        self.persistent = persistent
        self.port = free_port()
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.dir / f"redis-{self.starts}.log").open("w")
        options = f"--port {self.port} --bind 127.0.0.1 --appendonly " + (
            "yes --appendfsync always" if self.persistent else "no"
        )
        self.proc = subprocess.Popen(
            ["redis-server", *options.split(), "--dir", str(self.dir), "--save", ""],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        client = redis.Redis(port=self.port, socket_timeout=2)
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:  # refused, or still loading the AOF
                pass
            assert self.proc.poll() is None, "redis-server exited at start-up"
            assert time.monotonic() < deadline, "redis-server did not answer PING"
            time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def shutdown(self) -> None:
        """SHUTDOWN (the clean way): Redis closes the connection as it exits."""
        assert self.proc is not None
        client = redis.Redis(port=self.port, socket_timeout=5)
        try:
            client.shutdown()
        except redis.exceptions.ConnectionError:
            pass
        finally:
            client.close()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- a PostgreSQL cluster of our own, to stop and start -----------------------------------------

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


class PrivatePostgres:
    """A PostgreSQL cluster of our own (initdb, pg_ctl) on a free port in a directory of its
    own: stopping it touches nobody else's tests, so the fault suite can run beside them. Run as
    the `postgres` user when we are root (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        assert PG_BIN is not None, "no PostgreSQL server binaries under /usr/lib/postgresql"
        # Not under pytest's tmp_path: its directories are private to our user.
        self.dir = Path(tempfile.mkdtemp(prefix="followup-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/followup"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*as_postgres, *command], capture_output=True, text=True, timeout=120, cwd=self.dir
        )
        if check:
            assert done.returncode == 0, f"{command[0]}: {done.stdout}{done.stderr}"
        return done

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args, check=check)

    def create(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        self.start()
        self.psql("CREATE DATABASE followup", database="postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.dir / "server.log"), "-w", "start")

    def stop(self, mode: str = "fast", *, wait: bool = True) -> subprocess.Popen[str] | None:
        """`wait=False`: begin the shutdown and return the pg_ctl process (a smart shutdown
        waits for the last session to end)."""
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop"]
        if wait:
            self._ctl("-m", mode, "-w", "stop", check=False)
            return None
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.Popen(
            [*as_postgres, *command[:-1], "-W", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=self.dir,
        )

    def running(self) -> bool:
        return self._ctl("status", check=False).returncode == 0

    def psql(self, sql: str, *, database: str = "followup") -> str:
        """One query in a new session: its output, or the error text when it fails."""
        url = self.admin_url.rpartition("/")[0] + f"/{database}"
        done = subprocess.run(
            ["psql", "-X", "-At", "-c", sql, url], capture_output=True, text=True, timeout=30
        )
        return done.stdout.strip() if done.returncode == 0 else done.stderr.strip()

    def destroy(self) -> None:
        self._ctl("-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.destroy()


class SmartShutdown:
    """The private cluster in a smart shutdown held open by a session of ours: while the
    session lasts, every new connection is refused with 57P03 "the database system is shutting
    down" (as while a fast shutdown checkpoints, or while the server starts up or recovers); the
    sessions of the `followup` database are ended so that its users must connect again."""

    APP = "followup-fault-holder"

    def __init__(self, workdir: Path, cluster: PrivatePostgres) -> None:
        self.log = workdir / "holder.log"
        self.cluster = cluster
        self.holder: subprocess.Popen[str] | None = None
        self.stopper: subprocess.Popen[str] | None = None

    def begin(self) -> None:
        with self.log.open("w") as out:
            self.holder = subprocess.Popen(
                ["psql", "-X", "-q", self.cluster.admin_url],
                env={**os.environ, "PGAPPNAME": self.APP},
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        query = f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{self.APP}'"
        _wait_for(
            lambda: self.cluster.psql(query, database="postgres") == "1",
            "the holding session did not connect",
        )
        self.stopper = self.cluster.stop("smart", wait=False)
        _wait_for(
            lambda: "shutting down" in self.cluster.psql("SELECT 1", database="postgres"),
            "PostgreSQL did not enter its smart shutdown",
        )
        assert self.holder.stdin is not None
        self.holder.stdin.write(
            "SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity "
            "WHERE datname = 'followup';\n"
        )
        self.holder.stdin.flush()

    def end(self) -> None:
        """Let the session go (the smart shutdown may then complete)."""
        if self.holder is not None and self.holder.poll() is None:
            assert self.holder.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self.holder.stdin.close()
            try:
                self.holder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait(timeout=10)

    def reap(self) -> None:
        if self.stopper is not None:
            try:
                self.stopper.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.stopper.kill()
                self.stopper.wait(timeout=10)


def _wait_for(condition: Callable[[], bool], failure: str, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.1)


# --- one database refusing connections, the shared cluster untouched --------------------------


class RefusedDatabase:
    """`ALTER DATABASE ... ALLOW_CONNECTIONS false` and its sessions ended: new connections are
    refused with SQLSTATE 55000 "database ... is not currently accepting connections" and the
    ended ones see 57P01, as in maintenance; every other database of the cluster carries on, so
    this can run beside other tests. Always allowed again on leaving."""

    def __init__(self, database_url: str) -> None:
        self.database = database_url.rpartition("/")[2]

    def begin(self) -> int:
        """Refuse; the number of sessions ended."""
        return asyncio.run(self._refuse())

    def end(self) -> None:
        asyncio.run(self._admin(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true'))

    def __enter__(self) -> RefusedDatabase:
        self.begin()
        return self

    def __exit__(self, *_: object) -> None:
        self.end()

    async def _refuse(self) -> int:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false')
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                self.database,
            )
            return int(ended or 0)
        finally:
            await admin.close()

    async def _admin(self, sql: str) -> None:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(sql)
        finally:
            await admin.close()


# --- what the input must lead to ---------------------------------------------------------------


Row = tuple[Any, ...]


@dataclass
class EndState:
    """Everything the tests compare, keyed the same way for the expected and the found state."""

    received: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, id) -> type
    obligations: dict[str, Row] = field(default_factory=dict)
    tracks: dict[tuple[str, str], Row] = field(default_factory=dict)  # -> (urn, link, labels)
    track_facts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    linked: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    cases: dict[str, Row] = field(default_factory=dict)
    staff: dict[str, Row] = field(default_factory=dict)
    changes: list[Row] = field(default_factory=list)  # obligation_changes in id order
    dead_letters: list[Row] = field(default_factory=list)


OBLIGATION_COLUMNS = (
    "rule", "key", "urn", "owner", "area", "opened_by", "due", "state", "closed_on", "explanation"
)  # fmt: skip


def expected_state(lines: Iterable[str], *, today: date) -> EndState:
    """The end state the input leads to, worked out without the database or the broker."""
    from events import parse_event
    from services.rules.calendar import Calendar
    from services.rules.ledger import Ledger
    from services.rules.packfile import load_pack
    from services.tracker.reading import fact_from_event
    from services.tracker.store import REALLOCATIONS

    state = EndState()
    facts = []
    latest_case: dict[str, tuple[tuple[datetime, str, str], Row]] = {}
    latest_staff: dict[str, tuple[tuple[datetime, str, str], Row]] = {}
    for line in lines:
        event = parse_event(line)
        if (event.source, event.id) in state.received:
            continue
        state.received[(event.source, event.id)] = event.type
        fact = fact_from_event(event)
        facts.append(fact)
        data = fact.data
        if fact.type == "case-registered":
            row = (data["area"], data["unit"], data["owner"])
            _keep_latest(latest_case, data["urn"], fact.order, row)
        elif fact.type == "staff-updated":
            row = tuple(
                data.get(k) for k in ("name", "email", "role", "area", "unit", "line_manager")
            )
            _keep_latest(latest_staff, data["staff_id"], fact.order, row)
    state.cases = {urn: row for urn, (_order, row) in latest_case.items()}
    state.staff = {staff: row for staff, (_order, row) in latest_staff.items()}

    ledger = Ledger(load_pack(), Calendar())
    for start in range(0, len(facts), 5000):
        ledger.apply(facts[start : start + 5000], today=today)
    for draft in ledger.obligations():
        state.obligations[draft.id] = tuple(getattr(draft, c) for c in OBLIGATION_COLUMNS)
    for key, track in ledger.tracks.items():
        labels = [f"{f.source}#{f.id}" for f in track.facts]
        state.track_facts[key] = labels
        state.tracks[key] = (track.urn, track.link, tuple(sorted(labels)))
    for key, linked in ledger.linked.items():
        if linked:
            state.linked[key] = tuple(sorted(f"{f.source}#{f.id}" for f in linked))
    for urn, moves in ledger.reallocations.items():  # kept beside them (contract section 2)
        state.linked[(REALLOCATIONS, urn)] = tuple(sorted(f"{f.source}#{f.id}" for f in moves))
    return state


def _keep_latest(
    into: dict[str, tuple[tuple[datetime, str, str], Row]],
    key: str,
    order: tuple[datetime, str, str],
    row: Row,
) -> None:
    if key not in into or order > into[key][0]:
        into[key] = (order, row)


async def found_state(database_url: str) -> EndState:
    """The end state in the database, read with plain SQL."""
    connection = await asyncpg.connect(database_url)
    try:
        state = EndState()
        for r in await connection.fetch("SELECT source, event_id, type FROM events_received"):
            state.received[(r["source"], r["event_id"])] = r["type"]
        columns = ", ".join(OBLIGATION_COLUMNS)
        for r in await connection.fetch(f"SELECT id, {columns} FROM obligations"):
            state.obligations[r["id"]] = tuple(r[c] for c in OBLIGATION_COLUMNS)
        for r in await connection.fetch("SELECT rule, key, urn, link, facts FROM tracks"):
            facts = _json(r["facts"])
            labels = [f"{f['source']}#{f['id']}" for f in facts]
            state.track_facts[(r["rule"], r["key"])] = labels
            state.tracks[(r["rule"], r["key"])] = (r["urn"], r["link"], tuple(sorted(labels)))
        for r in await connection.fetch("SELECT rule, link, facts FROM linked_facts"):
            labels = tuple(sorted(f"{f['source']}#{f['id']}" for f in _json(r["facts"])))
            if labels:
                state.linked[(r["rule"], r["link"])] = labels
        for r in await connection.fetch("SELECT urn, area, unit, owner FROM cases"):
            state.cases[r["urn"]] = (r["area"], r["unit"], r["owner"])
        for r in await connection.fetch(
            "SELECT staff_id, name, email, role, area, unit, line_manager FROM staff"
        ):
            state.staff[r["staff_id"]] = tuple(r)[1:]
        state.changes = [
            tuple(r)
            for r in await connection.fetch(
                "SELECT id, obligation_id, kind, due_before, due_after, state_before, "
                "state_after, closed_on, caused_by FROM obligation_changes ORDER BY id"
            )
        ]
        state.dead_letters = [
            tuple(r)
            for r in await connection.fetch(
                "SELECT origin, stream_entry_id, event_source, event_id, left(reason, 300) "
                "FROM dead_letters ORDER BY id"
            )
        ]
        return state
    finally:
        await connection.close()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


# --- comparing ---------------------------------------------------------------------------------


def compare(expected: EndState, found: EndState) -> list[str]:
    """Every way the found state differs from the expected one, each with counts and examples;
    empty when every event's effect is present exactly once."""
    problems = [
        *_diff("events_received (source, id)", expected.received, found.received),
        *_diff("obligations", expected.obligations, found.obligations),
        *_diff("tracks (urn, link, facts)", expected.tracks, found.tracks),
        *_diff("linked_facts", expected.linked, found.linked),
        *_diff("cases", expected.cases, found.cases),
        *_diff("staff", expected.staff, found.staff),
    ]
    twice = {k: v for k, v in found.track_facts.items() if len(v) != len(set(v))}
    if twice:
        example = next(iter(twice.items()))
        problems.append(
            f"tracks holding one event twice: {len(twice)} (e.g. {example[0]}: "
            f"{[x for x, n in Counter(example[1]).items() if n > 1][:3]})"
        )
    expected_types, found_types = (
        Counter(expected.received.values()),
        Counter(found.received.values()),
    )
    if expected_types != found_types:
        differ = {
            t: (expected_types[t], found_types[t])
            for t in expected_types | found_types
            if expected_types[t] != found_types[t]
        }
        problems.append(f"events received by type (expected, found): {differ}")
    problems += journal_problems(found)
    return problems


def _diff(
    name: str, want: Mapping[Any, Any], got: Mapping[Any, Any], examples: int = 3
) -> list[str]:
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    changed = [k for k in want if k in got and want[k] != got[k]]
    if not (missing or extra or changed):
        return []
    parts = [f"{name}: expected {len(want)} rows, found {len(got)}"]
    if missing:
        parts.append(f"{len(missing)} missing (lost), e.g. {sorted(missing)[:examples]}")
    if extra:
        parts.append(f"{len(extra)} unexpected, e.g. {sorted(extra)[:examples]}")
    if changed:
        shown = "; ".join(
            f"{k}: expected {_short(want[k])}, found {_short(got[k])}"
            for k in sorted(changed)[:examples]
        )
        parts.append(f"{len(changed)} different, e.g. {shown}")
    return [", ".join(parts)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 400 else text[:400] + "..."


def journal_problems(found: EndState) -> list[str]:
    """Replay obligation_changes in order, each change against the state the ones before it left:
    an effect applied twice shows as an obligation opened while already open (or a change whose
    'before' is not what the previous change left); the replay must end in the obligations
    table."""
    journal: dict[str, tuple[Any, Any, Any]] = {}
    bad: Counter[str] = Counter()
    examples: dict[str, Row] = {}
    opened: Counter[str] = Counter()
    removed: Counter[str] = Counter()

    def note(kind: str, change: Row) -> None:
        bad[kind] += 1
        examples.setdefault(kind, change)

    for change in found.changes:
        _id, oid, kind, due_before, due_after, state_before, state_after, closed_on, _cause = change
        now = journal.get(oid)
        if kind == "opened":
            opened[oid] += 1
            if now is not None:
                note("'opened' while already open (an effect applied twice)", change)
            journal[oid] = (due_after, state_after, closed_on)
        elif kind == "removed":
            removed[oid] += 1
            if now is None:
                note("'removed' while absent", change)
            journal.pop(oid, None)
        else:
            if now is None:
                note(f"'{kind}' of an absent obligation", change)
            elif (now[0], now[1]) != (due_before, state_before):
                note(f"'{kind}' whose before-state is not what the previous change left", change)
            journal[oid] = (due_after, state_after, closed_on)
    table = {oid: (row[6], row[7], row[8]) for oid, row in found.obligations.items()}
    problems = [
        f"obligation_changes: {n} x {kind}; e.g. {examples[kind]}" for kind, n in bad.items()
    ]
    problems += _diff("obligation_changes replayed vs obligations table", table, journal)
    # Each obligation opened exactly once (once more for each time it was removed, which the
    # mixes here never do): an effect applied twice would open it twice.
    wrong = {
        oid: (opened[oid], removed[oid])
        for oid in set(opened) | set(found.obligations)
        if opened[oid] - removed[oid] != (1 if oid in found.obligations else 0)
    }
    if wrong:
        shown = dict(sorted(wrong.items())[:3])
        problems.append(
            f"{len(wrong)} obligations not opened exactly once (opened, removed): e.g. {shown}"
        )
    return problems


def describe_state(state: EndState) -> str:
    kinds = Counter(change[2] for change in state.changes)
    states = Counter(row[7] for row in state.obligations.values())
    return (
        f"{len(state.received)} events received, {len(state.obligations)} obligations "
        f"{dict(states)}, {len(state.tracks)} tracks, {len(state.cases)} cases, "
        f"{len(state.staff)} staff, changes {dict(kinds)}, {len(state.dead_letters)} dead letters"
    )


def dead_letter_summary(state: EndState, limit: int = 5) -> str:
    reasons = Counter((row[0], str(row[4])[:160]) for row in state.dead_letters)
    return "; ".join(
        f"{n} x [{origin}] {reason}" for (origin, reason), n in reasons.most_common(limit)
    )
