"""`tfspec lsp` in a real editor: headless Neovim (where the system has it, e.g. Debian's
`neovim` package) starts the server with its built-in LSP client, opens a spec, and receives
the diagnostics, a hover and the formatting edits, as a person typing would. Skipped without
`nvim` (CI has only Python); tests/test_lsp.py drives the same protocol without an editor."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from .helpers import ROOT

NVIM = shutil.which("nvim")
pytestmark = pytest.mark.skipif(NVIM is None, reason="Neovim (nvim) is not installed")

SPEC = """model M {
    input x: float32[4]
    x -> Dense(3) -> Dens(2) -> y
    output y
}
"""

# Neovim 0.7 (Debian 12) has vim.lsp.start_client and buf_attach_client; vim.lsp.start came in 0.8.
SCRIPT = textwrap.dedent("""
    local spec, out, python = vim.env.TFSPEC_SPEC, vim.env.TFSPEC_OUT, vim.env.TFSPEC_PYTHON
    local id = vim.lsp.start_client({ name = "tfspec", cmd = { python, "-m", "tfspec", "lsp" } })
    vim.cmd("edit " .. vim.fn.fnameescape(spec))
    vim.lsp.buf_attach_client(0, id)
    local result = { diagnostics = {}, hover = "", formatting = 0 }
    vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 50)
    for _, d in ipairs(vim.diagnostic.get(0)) do
      table.insert(result.diagnostics, { line = d.lnum, col = d.col, message = d.message })
    end
    local uri = vim.uri_from_bufnr(0)
    local hover = vim.lsp.buf_request_sync(0, "textDocument/hover",
      { textDocument = { uri = uri }, position = { line = 2, character = 10 } }, 20000)
    for _, answer in pairs(hover or {}) do
      if answer.result and answer.result.contents then result.hover = answer.result.contents.value or "" end
    end
    local formatting = vim.lsp.buf_request_sync(0, "textDocument/formatting",
      { textDocument = { uri = uri }, options = { tabSize = 4, insertSpaces = true } }, 20000)
    for _, answer in pairs(formatting or {}) do
      if answer.result then result.formatting = #answer.result end
    end
    vim.fn.writefile({ vim.fn.json_encode(result) }, out)
    vim.lsp.stop_client(id)
    vim.cmd("qa!")
""")


def test_neovim_shows_the_servers_diagnostics_hover_and_formatting(tmp_path):
    spec = tmp_path / "m.tfs"
    spec.write_text(SPEC, encoding="utf-8")
    script = tmp_path / "client.lua"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "result.json"
    env = dict(
        os.environ,
        TFSPEC_SPEC=str(spec),
        TFSPEC_OUT=str(out),
        TFSPEC_PYTHON=sys.executable,
        PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    done = subprocess.run(
        [NVIM, "--headless", "-u", "NONE", "-i", "NONE", "-c", f"luafile {script}"],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.exists(), f"Neovim wrote no result: {done.stderr[-2000:]}"
    result = json.loads(out.read_text(encoding="utf-8"))
    (found,) = result["diagnostics"]
    assert (found["line"], found["col"]) == (2, 21)  # `Dens`, 0-based as LSP and Neovim count
    assert "unknown layer 'Dens'" in found["message"] and "did you mean 'Dense'?" in found["message"]
    assert "Dense" in result["hover"], result
    assert result["formatting"] in (0, 1)  # the file is not valid yet: fmt leaves it, or formats it whole
