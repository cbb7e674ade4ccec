"""Child processes that die with the process that launched them (Linux only).

Three guards, so that no process of a sweep outlives `python -m jaxpar.compare`,
whether it exits, is interrupted (SIGINT, SIGTERM) or is killed (SIGKILL):

* `popen` starts a child in its own session through a small wrapper that sets
  `prctl(PR_SET_PDEATHSIG, SIGKILL)` and then execs the command: the kernel
  kills the child (mpirun, a single-process run, a GEMM probe) when its parent
  dies, even by SIGKILL. PDEATHSIG is kept across execve but not inherited by
  forked grandchildren, and it fires when the *thread* that started the child
  exits: call `popen` from a thread that outlives the child (compare's main).
* `kill` (called in `finally` by every launcher) SIGKILLs the child's process
  group and every descendant and its group, found through /proc before any is
  killed: Hydra's proxy and ranks each call setsid, so the child's group alone
  would miss them. SIGINT and SIGTERM are held back while it runs.
* `watch_parent`, called first thing by every rank (jaxpar/run.py), starts a
  daemon thread that waits on a pidfd of the launching process
  (JAXPAR_PARENT_PID, exported by `popen`) and of its own parent (the MPI
  proxy), and kills itself (with its process group, if it leads one) when either
  is gone: the grandchildren that PDEATHSIG cannot reach.
"""
from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path

PARENT_VAR = "JAXPAR_PARENT_PID"

# Runs as `python -I -S -c WRAPPER PARENT_PID COMMAND...`: set PDEATHSIG, then become COMMAND.
WRAPPER = """
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
    sys.exit(f"jaxpar: prctl(PR_SET_PDEATHSIG): {os.strerror(ctypes.get_errno())}")
if os.getppid() != int(sys.argv[1]):  # the parent died before prctl took effect
    os._exit(137)
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as exc:
    sys.exit(f"jaxpar: cannot run {sys.argv[2]}: {exc}")
"""


def command(args: list) -> list[str]:
    """args, run so that it gets SIGKILL when this process (this thread) dies."""
    return [sys.executable, "-I", "-S", "-c", WRAPPER, str(os.getpid())] + [str(a) for a in args]


def popen(args: list, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """subprocess.Popen of args in a new session, dying with this process; its
    environment names this process in JAXPAR_PARENT_PID for `watch_parent`."""
    env = dict(os.environ if env is None else env, **{PARENT_VAR: str(os.getpid())})
    return subprocess.Popen(command(args), env=env, start_new_session=True, **kwargs)


def run(args: list, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run(args, capture_output=True, text=True) through `popen`; the whole tree
    is killed on return, on timeout (subprocess.TimeoutExpired) and on any exception."""
    proc = popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        kill(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@contextlib.contextmanager
def signals_held():
    """Defer SIGINT and SIGTERM to the end of the block (in the main thread; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    old = {s: signal.signal(s, lambda signum, frame: pending.append(signum))
           for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        for s in pending:
            signal.raise_signal(s)


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL proc's process group and every descendant of proc with its process group.
    Descendants are found only while proc is unreaped (then its pid cannot be another's)."""
    with signals_held():
        victims = descendants(proc.pid) if proc.returncode is None else []
        own = os.getpgrp()
        for pid, group in [(proc.pid, proc.pid)] + [(p, _pgid(p)) for p in victims]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if group is not None and group != own:
                    os.killpg(group, signal.SIGKILL)
                if pid != proc.pid:
                    os.kill(pid, signal.SIGKILL)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def descendants(pid: int) -> list[int]:
    """Every live descendant of pid (children first), from the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])  # after "pid (comm) state"
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(0), [])
        out += kids
        todo += kids
    return out


def watch_parent() -> threading.Thread | None:
    """In a launched process: die (with its group, if it leads one) as soon as the launcher
    (JAXPAR_PARENT_PID) or this process's own parent has exited. No-op without the variable."""
    launcher = os.environ.get(PARENT_VAR, "")
    if not launcher.isdigit():
        return None
    fds = []
    for pid in dict.fromkeys((int(launcher), os.getppid())):
        try:
            fds.append(os.pidfd_open(pid))
        except ProcessLookupError:  # already gone
            _die()
        except OSError as exc:  # Linux < 5.3 has no pidfd: go unguarded
            print(f"jaxpar: cannot watch process {pid}: {exc}", file=sys.stderr)
            return None
    thread = threading.Thread(target=_wait_then_die, args=(fds,), name="jaxpar-watch-parent",
                              daemon=True)
    thread.start()
    return thread


def _wait_then_die(fds: list[int]) -> None:
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    while not poller.poll():  # a pidfd becomes readable when its process exits
        pass
    _die()


def _die() -> None:
    if os.getpgrp() == os.getpid():  # leading its own group (a Hydra rank, a single-process run)
        os.killpg(os.getpid(), signal.SIGKILL)  # its children too
    os.kill(os.getpid(), signal.SIGKILL)
