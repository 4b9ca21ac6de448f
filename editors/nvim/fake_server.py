#!/usr/bin/env python3
# A tiny fake stdio LSP server that tests editors/nvim/smoke.lua itself, not vnuma-lsp.
#
# It reports one E0205-style error per non-IEC size (`8GB`, `512M`) on didOpen
# and didChange (so a fixed file gets none), answers hover with the word under
# the cursor, and answers formatting with one edit that strips trailing blanks.
# FAKE_LSP_MODE=never-publish makes it never publish diagnostics (the smoke
# script must then fail); FAKE_LSP_MODE=keep-errors keeps the first errors
# forever (ditto).
import json
import os
import re
import sys

MODE = os.environ.get("FAKE_LSP_MODE", "")
SI = re.compile(r"(?<![\w.])(\d+)(GB|MB|KB|G|M|k)(?![\w.])")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")

documents = {}
published_once = set()


def read_message():
    length = None
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        line = line.decode("ascii").strip()
        if not line:
            break
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    if length is None:
        return None
    return json.loads(sys.stdin.buffer.read(length).decode("utf-8"))


def send(message):
    body = json.dumps(message).encode("utf-8")
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()


def publish(uri):
    if MODE == "never-publish":
        return
    if MODE == "keep-errors" and uri in published_once:
        return
    published_once.add(uri)
    diagnostics = []
    for lnum, line in enumerate(documents[uri].split("\n")):
        for m in SI.finditer(line.split("#")[0]):
            diagnostics.append(
                {
                    "range": {
                        "start": {"line": lnum, "character": m.start(2)},
                        "end": {"line": lnum, "character": m.end(2)},
                    },
                    "severity": 1,
                    "code": "vnuma::E0205",
                    "source": "fake",
                    "message": f"`{m.group(2)}` is not an IEC unit",
                }
            )
    send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/publishDiagnostics",
            "params": {"uri": uri, "diagnostics": diagnostics},
        }
    )


def hover(params):
    lines = documents.get(params["textDocument"]["uri"], "").split("\n")
    pos = params["position"]
    if pos["line"] >= len(lines):
        return None
    line = lines[pos["line"]]
    for m in WORD.finditer(line):
        if m.start() <= pos["character"] < m.end():
            return {
                "contents": {"kind": "markdown", "value": f"**{m.group(0)}** (fake hover)"},
                "range": {
                    "start": {"line": pos["line"], "character": m.start()},
                    "end": {"line": pos["line"], "character": m.end()},
                },
            }
    return None


def formatting(params):
    uri = params["textDocument"]["uri"]
    lines = documents.get(uri, "").split("\n")
    return [
        {
            "range": {
                "start": {"line": n, "character": len(line.rstrip())},
                "end": {"line": n, "character": len(line)},
            },
            "newText": "",
        }
        for n, line in enumerate(lines)
        if line != line.rstrip()
    ] or [
        # Always return at least one (no-op) edit so the script sees edits come back.
        {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "newText": ""}
    ]


def main():
    while True:
        msg = read_message()
        if msg is None:
            return 1
        method = msg.get("method")
        params = msg.get("params") or {}
        if method == "initialize":
            result = {
                "capabilities": {
                    "textDocumentSync": 1,
                    "hoverProvider": True,
                    "documentFormattingProvider": True,
                },
                "serverInfo": {"name": "fake-vnuma-lsp"},
            }
            send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        elif method == "textDocument/didOpen":
            doc = params["textDocument"]
            documents[doc["uri"]] = doc["text"]
            publish(doc["uri"])
        elif method == "textDocument/didChange":
            uri = params["textDocument"]["uri"]
            documents[uri] = params["contentChanges"][-1]["text"]
            publish(uri)
        elif method == "textDocument/didClose":
            documents.pop(params["textDocument"]["uri"], None)
        elif method == "textDocument/hover":
            send({"jsonrpc": "2.0", "id": msg["id"], "result": hover(params)})
        elif method == "textDocument/formatting":
            send({"jsonrpc": "2.0", "id": msg["id"], "result": formatting(params)})
        elif method == "shutdown":
            send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
        elif method == "exit":
            return 0
        elif "id" in msg and method is not None:
            send(
                {
                    "jsonrpc": "2.0",
                    "id": msg["id"],
                    "error": {"code": -32601, "message": f"method not found: {method}"},
                }
            )


if __name__ == "__main__":
    sys.exit(main())
