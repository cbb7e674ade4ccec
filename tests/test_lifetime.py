"""No process outlives python -m jaxpar.compare (jaxpar/core/lifetime.py): the
helper's guards one by one, then SIGKILL and SIGINT sent to a real compare at
several points. A leftover process is found by an environment marker. Linux only."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from jaxpar.core import lifetime

ROOT = Path(__file__).resolve().parents[1]
SLEEP = "import time; time.sleep(600)"
WATCH_AND_SLEEP = "from jaxpar.core import lifetime; lifetime.watch_parent(); " + SLEEP


def processes_with(marker):
    """Live (not zombie) processes whose environment carries marker: {pid: command line}."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found[int(pid)] = [c.decode(errors="replace") for c in cmdline if c]
    return found


def survivors(marker, wait=5.0):
    """The marked processes still alive after up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while (left := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def watching(pid):
    """Has pid started a second thread (the watcher of watch_parent)?"""
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def start(code, marker, session=False, **env):
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, JAXPAR_TEST_MARKER=marker, **env),
                            start_new_session=session)


@pytest.fixture
def marker():
    marker = uuid.uuid4().hex
    yield marker
    for pid in processes_with(marker):  # a failed test leaves nothing behind
        os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- the guards one by one

def test_a_child_dies_when_its_parent_is_killed(marker):
    parent = start("import sys, time; from jaxpar.core import lifetime; "
                   f"p = lifetime.popen([sys.executable, '-c', {SLEEP!r}]); print(p.pid, flush=True); "
                   "time.sleep(600)", marker)
    child = int(parent.stdout.readline())
    assert child in processes_with(marker)
    parent.kill()
    parent.wait()
    assert not survivors(marker), "the child outlived its SIGKILLed parent"


def test_a_grandchild_in_its_own_session_dies_with_the_launcher(marker):
    # like a Hydra rank: not a child of the launcher, in its own session, and its parent lives on
    launcher = start(SLEEP, marker)
    rank = start(WATCH_AND_SLEEP, marker, session=True, JAXPAR_PARENT_PID=str(launcher.pid))
    wait_for(lambda: watching(rank.pid), 30, "the watcher thread")
    launcher.kill()
    launcher.wait()
    assert rank.wait(timeout=5) == -signal.SIGKILL
    assert not survivors(marker)


def test_a_watching_process_dies_with_its_own_parent(marker):
    # the MPI proxy between launcher and rank dies: the rank goes too
    proxy = start(f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {WATCH_AND_SLEEP!r}], "
                  "start_new_session=True); time.sleep(600)", marker, JAXPAR_PARENT_PID=str(os.getpid()))
    wait_for(lambda: any(watching(p) for p in processes_with(marker) if p != proxy.pid), 30, "the rank")
    proxy.kill()
    proxy.wait()
    assert not survivors(marker)


def test_kill_reaches_descendants_in_their_own_sessions(marker):
    proxy = lifetime.popen([sys.executable, "-c", "import subprocess, sys, time; "
                            f"subprocess.Popen([sys.executable, '-c', {SLEEP!r}], start_new_session=True); "
                            "time.sleep(600)"], env=dict(os.environ, JAXPAR_TEST_MARKER=marker))
    wait_for(lambda: len(processes_with(marker)) == 2, 30, "the grandchild")
    lifetime.kill(proxy)
    proxy.wait()
    assert not survivors(marker)


# ---------------------------------------------------------------- a real compare

CONFIG = """
repeats = 2
timeout = 300
implementations = ["c_mpi"]
launch = ["mpirun"]
ranks = [1, 2]
[hardware]
gemm_n = {gemm_n}
pingpong = false
[[sweep]]
name = "lifetime"
workload = "matmul"
sizes = [{{ m = 16, k = 16, n = 16 }}]
"""


def ranks_of(marker):
    return [p for p, cmd in processes_with(marker).items() if cmd[1:3] == ["-m", "jaxpar.run"]]


# Every point leaves something that would live on (for ever, or for many seconds) unguarded:
# the P = 1 run goes first and the P = 2 run hangs (rank 1 sleeps for ever, rank 0 waits on it).
POINTS = {  # gemm_n, when to send the signal
    "gemm probe": (4096, lambda m, out: any("_gemm_rate" in " ".join(c) for c in processes_with(m).values())),
    "hung rank": (64, lambda m, out: len(ranks_of(m)) == 2),
    "between configurations": (64, lambda m, out: (out / "results.jsonl").exists()
                               and (out / "results.jsonl").read_text().count("\n") >= 1),
}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
@pytest.mark.parametrize("point", POINTS)
def test_nothing_outlives_compare(point, sig, tmp_path, marker):
    gemm_n, ready = POINTS[point]
    config = tmp_path / "lifetime.toml"
    config.write_text(CONFIG.format(gemm_n=gemm_n))
    out = tmp_path / "out"
    compare = subprocess.Popen(  # SIGINT as from a terminal, even if this pytest ignores it
        [sys.executable, "-m", "jaxpar.compare", "--config", str(config), "--output", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, JAXPAR_TEST_MARKER=marker, JAXPAR_FAULT="hang:c_mpi"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for(lambda: ready(marker, out) or compare.poll() is not None, 180, point)
        assert compare.poll() is None, compare.communicate()[0]
        if point == "hung rank":
            time.sleep(2)  # past setup: rank 1 sleeps for ever, rank 0 waits on it
        compare.send_signal(sig)
        output, _ = compare.communicate(timeout=30)
    finally:
        compare.kill()
    assert compare.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), output
    left = survivors(marker)
    assert not left, f"survived compare's {sig.name} {point}: {left}"
