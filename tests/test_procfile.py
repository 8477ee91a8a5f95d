"""The Procfile's processes side by side on one machine, as `make run`, the benchmarks and a production
machine with two web processes start them."""
from __future__ import annotations

import os
from pathlib import Path

from bench import stack


def test_two_web_processes_on_one_machine_share_no_control_socket(tmp_path):
    """gunicorn 25.1+ opens a control socket at one fixed path per user ($XDG_RUNTIME_DIR/gunicorn.ctl):
    a second gunicorn took the first one's over, and stopping either removed it from under the other."""
    runtime = tmp_path / "run"
    runtime.mkdir()
    ports = [stack.free_port(), stack.free_port()]
    (tmp_path / "logs").mkdir()
    processes = stack.Processes(tmp_path / "logs")
    try:
        for n, port in enumerate(ports):
            env = {**os.environ, "PORT": str(port), "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path),
                   "PATH": f"{stack.BIN}{os.pathsep}{os.environ['PATH']}",
                   "SECRET_KEY": "x", "DISPATCH_INSTANCE_DIR": str(tmp_path / "instance")}
            stack.start_web(processes, env, port, name=f"web{n}")
        assert all(stack.port_open(port) for port in ports)
        processes.check()
    finally:
        processes.stop()
    sockets = [path for path in [*runtime.rglob("*"), *Path(tmp_path).glob(".gunicorn/*")] if path.is_socket()]
    logs = "".join((tmp_path / "logs" / f"web{n}.log").read_text() for n in range(2))
    assert sockets == [] and "Control socket" not in logs, logs
