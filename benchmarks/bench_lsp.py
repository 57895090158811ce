"""`tfspec lsp` speed: how long after a change the editor has its diagnostics; prints JSON.

A generated spec of 1,000 layers (benchmarks/bench_check.py's generator) is opened in a
`tfspec lsp` process over stdio; then N changes, alternating a mistake (`Dense(64` becomes
`Dense(-64` on one line) and its fix, are sent one at a time, each a text not seen before (a comment counts the edits), timed from writing
`didChange` to reading its `publishDiagnostics`. Also timed in-process: loading the text and
converting its diagnostics (what the server does per change), to tell the protocol's cost apart.
Target: median <= 300 ms over stdio.

    python benchmarks/bench_lsp.py [--runs N] [--layers N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE]

from bench_check import generated_spec  # noqa: E402

TARGET_MS = 300.0


class Server:
    """`python -m tfspec lsp`, spoken to with Content-Length framed JSON-RPC."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tfspec", "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env
        )

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def receive(self) -> dict:
        length = 0
        while (line := self.proc.stdout.readline().strip()) != b"":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def wait_for(self, method: str = "textDocument/publishDiagnostics") -> dict:
        while (message := self.receive()).get("method") != method:
            pass
        return message

    def close(self) -> None:
        self.send({"jsonrpc": "2.0", "id": 99, "method": "shutdown", "params": None})
        self.send({"jsonrpc": "2.0", "method": "exit", "params": None})
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def over_stdio(text: str, broken: str, runs: int) -> list[float]:
    server = Server()
    uri = "file:///bench/generated.tfs"
    try:
        server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
        server.receive()
        server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        server.send(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didOpen",
                "params": {"textDocument": {"uri": uri, "languageId": "tfspec", "version": 1, "text": text}},
            }
        )
        server.wait_for()
        times = []
        for i in range(runs):
            current = (broken if i % 2 == 0 else text) + f"# edit {i}\n"  # never the same text twice
            start = time.perf_counter()
            server.send(
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didChange",
                    "params": {"textDocument": {"uri": uri, "version": i + 2}, "contentChanges": [{"text": current}]},
                }
            )
            published = server.wait_for()["params"]["diagnostics"]
            times.append((time.perf_counter() - start) * 1000)
            assert bool(published) == (i % 2 == 0), published
        return times
    finally:
        server.close()


def in_process(text: str, broken: str, runs: int) -> list[float]:
    from tfspec.lsp.diagnostics import publishable
    from tfspec.lsp.documents import Document, analyse

    doc = Document("file:///bench/generated.tfs")
    analyse(doc, text)
    times = []
    for i in range(runs):
        start = time.perf_counter()
        publishable(analyse(doc, (broken if i % 2 == 0 else text) + f"# edit {i}\n"))
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--layers", type=int, default=1000)
    args = parser.parse_args()
    text = generated_spec(args.layers)
    broken = text.replace("Dense(64,", "Dense(-64,", 1)
    stdio = over_stdio(text, broken, args.runs)
    local = in_process(text, broken, args.runs)
    result = {
        "layers": args.layers,
        "lines": text.count("\n"),
        "runs": args.runs,
        "median_ms": round(statistics.median(stdio), 1),
        "median_ms_valid": round(statistics.median(stdio[1::2]), 1),
        "median_ms_with_error": round(statistics.median(stdio[::2]), 1),
        "max_ms": round(max(stdio), 1),
        "in_process_median_ms": round(statistics.median(local), 1),
        "target_ms": TARGET_MS,
        "ok": statistics.median(stdio) <= TARGET_MS,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
