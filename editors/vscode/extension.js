// The tfspec VS Code extension: a thin client. Highlighting comes from the TextMate grammar;
// everything else (diagnostics, hover, completion, formatting, symbols) from `tfspec lsp`.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("tfspec");
  const server = {
    command: expand(config.get("server.command", "tfspec")),
    args: config.get("server.args", ["lsp"]).map(expand),
    transport: TransportKind.stdio,
  };
  client = new LanguageClient(
    "tfspec",
    "tfspec language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "tfspec" }, { scheme: "untitled", language: "tfspec" }] },
  );
  // Without a `tfspec` executable the grammar still highlights; say why the rest is missing.
  client.start().catch((err) => {
    vscode.window.showErrorMessage(`tfspec: could not start the language server (${err.message})`);
  });

  // The command is read once; a changed setting needs a restart of the server.
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("tfspec.server")) {
        vscode.window.showInformationMessage("tfspec: reload the window to use the new server settings.");
      }
    }),
  );
}

// VS Code leaves `${workspaceFolder}` in extension settings as written; a project's own
// virtual environment (`${workspaceFolder}/.venv/bin/tfspec`) is the common case for it.
function expand(value) {
  const folders = vscode.workspace.workspaceFolders;
  if (!folders || folders.length === 0) {
    return value;
  }
  return value.split("${workspaceFolder}").join(folders[0].uri.fsPath);
}

function deactivate() {
  if (!client) {
    return undefined;
  }
  const stopping = client.stop();
  client = undefined;
  return stopping;
}

module.exports = { activate, deactivate };
