"""Starting the tool under the right Python, with the C allocator set for its threads: what mendeley-backup.py does
before it imports any module of its own.

People start the script as `./mendeley-backup.py` or `python3 mendeley-backup.py`, which finds whatever Python is on
their PATH: one too old, or one without the tool's packages. Too old: one line naming the version needed. Without
the packages: the script runs again under the `.venv` beside it (made by `make venv`) when there is one, and otherwise
one line says how to set it up. Never a traceback.

Any Python 3 must be able to run this module: it uses no newer syntax (no f-strings; annotations only of plain
names, which every Python 3 evaluates) and only modules every Python 3 has.
"""

import os
import subprocess
import sys

NEEDED = (3, 10)
# The packages of requirements.txt that the tool's modules import themselves (tests/test_portability.py checks that
# this is the whole list); each is looked for, not imported, so that the check costs next to nothing.
PACKAGES = ("anyascii", "appdirs", "bibtexparser", "bidict", "filelock", "mendeley", "oauthlib", "pylatexenc", "pypdf",
            "requests", "rispy", "tqdm", "urllib3")
EXIT_FAILED = 1  # Errors.EXIT_FAILED, which this module cannot import on an old Python
M_ARENA_MAX = -8  # glibc's mallopt parameter: how many malloc arenas the process may have
MALLOC_ARENAS = 2


def require_python() -> None:
    """Exit with one line naming the Python needed, when this one is older."""
    if sys.version_info < NEEDED:
        _stop("Python {}.{} or newer is needed; this is Python {} ({})".format(
            NEEDED[0], NEEDED[1], sys.version.split()[0], sys.executable or "python"))


def require_packages(script: str) -> None:
    """Return when this Python has the tool's packages. Otherwise run `script` again under the `.venv` beside it
    (this process then ends with that run's exit status), or exit with one line on how to set the tool up."""
    missing = [name for name in PACKAGES if not _importable(name)]
    if not missing:
        return
    folder = os.path.dirname(os.path.realpath(script))
    venv = os.path.join(folder, ".venv")
    python = venv_python(venv)
    if os.path.isfile(python) and not _runs_in(venv):
        rerun(python, os.path.realpath(script), sys.argv[1:])
    where = "its .venv" if _runs_in(venv) else "this Python ({})".format(sys.executable or "python")
    _stop('{} lacks the packages mendeley-backup needs ({}); run "make venv" in {}, or see its README on installing'
          .format(where, ", ".join(missing), folder))


def limit_malloc_arenas() -> bool:
    """On Linux with glibc, at most MALLOC_ARENAS malloc arenas for the process, set before its threads start; whether
    it was set. glibc gives each thread that allocates an arena of its own, and keeps in it what the thread freed: a
    backup's download threads held tens of megabytes so, a tenth of a large first backup's peak memory. Two arenas
    are plenty for threads that mostly wait on the network. Elsewhere, with another C library, or when the user set
    MALLOC_ARENA_MAX, nothing changes."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    import ctypes
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return mallopt(M_ARENA_MAX, MALLOC_ARENAS) == 1


def venv_python(venv: str) -> str:
    """The interpreter of a virtual environment, where `python -m venv` puts it on this system."""
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def _importable(name: str) -> bool:
    import importlib.util  # a Python too old to have it has stopped at require_python
    return importlib.util.find_spec(name) is not None


def _runs_in(venv: str) -> bool:
    return os.path.realpath(sys.prefix) == os.path.realpath(venv)


def rerun(python: str, script: str, arguments: list) -> None:
    """Run the script under `python` with the same arguments, as this process: replaced by it where the system can
    (POSIX), otherwise (Windows, whose exec starts a new process and returns at once) waited for, its exit status
    passed on."""
    command = [python, script, *arguments]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(python, command)
    child = subprocess.Popen(command)
    while True:
        try:
            sys.exit(child.wait())
        except KeyboardInterrupt:
            continue  # the console sent Ctrl-C to the child too: it stops by itself and says so


def _stop(message: str) -> None:
    sys.stderr.write("mendeley-backup: " + message + "\n")
    sys.exit(EXIT_FAILED)
