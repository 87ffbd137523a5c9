"""Run the service in the foreground for development, from the Procfile.

The ``release`` line runs first, then ``flask seed``, then the ``web`` and
``worker`` lines side by side until Ctrl-C (or until one of them exits), the
way Heroku or honcho would run them.
"""

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"


def read_procfile(path=PROCFILE):
    """Return the Procfile as ``{process type: command}``."""
    processes = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = command.strip()
    return processes


def _environment(environ):
    """The environment for children: the virtualenv's scripts first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return dict(environ, PATH=os.pathsep.join([bin_dir, environ.get("PATH", "")]))


def run_command(command, environ):
    """Run one command with the service's environment; return its exit code."""
    return subprocess.call(command, env=_environment(environ))  # noqa: S603 - developer's own command


def run_service(environ):
    """Release, seed, then serve web and worker until interrupted; return an exit code."""
    env = _environment(environ)
    env.setdefault("GUNICORN_BIND", f"127.0.0.1:{env.get('PORT', '8000')}")
    processes = read_procfile()
    for step in (processes["release"], "flask --app wsgi seed"):
        code = subprocess.call(shlex.split(step), env=env)  # noqa: S603 - commands from our Procfile
        if code:
            return code
    children = {name: subprocess.Popen(shlex.split(processes[name]), env=env)  # noqa: S603
                for name in ("web", "worker")}
    base = f"http://{env['GUNICORN_BIND']}"
    print(f"\n  API      {base}/api/v1/products\n  Health   {base}/health\n"
          f"  OpenAPI  {base}/openapi.json\n  Docs     {base}/docs\n"
          "  Ctrl-C stops web, worker and the embedded servers\n", flush=True)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        while not stopping and all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return _stop(children)


def _stop(children, timeout=20):
    """Ask each child to stop, wait for it, kill what is left; return the first failure code."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children.values():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return next((c.returncode for c in children.values() if c.returncode not in (0, -15, None)), 0)
