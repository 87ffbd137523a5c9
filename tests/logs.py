"""The JSON log lines a test captured, parsed: from pytest's ``capsys`` or from a process's log file."""

import json


def json_log_lines(text):
    """Every JSON object logged in ``text``, in order (other output, and a line still being written, skipped)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def captured_log_lines(capsys):
    """The JSON log lines written to stdout since the last call."""
    return json_log_lines(capsys.readouterr().out)
