// VS Code client for vnuma-lsp. Plain JavaScript: no build step.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;
/** @type {vscode.OutputChannel | undefined} */
let output;

function serverPath() {
  const configured = vscode.workspace.getConfiguration('vnuma').get('server.path');
  return (typeof configured === 'string' && configured.trim()) || 'vnuma-lsp';
}

async function startClient() {
  const command = serverPath();
  const run = { command, transport: TransportKind.stdio };
  client = new LanguageClient(
    'vnuma',
    'vnuma',
    { run, debug: run },
    {
      documentSelector: [
        { scheme: 'file', language: 'vnuma' },
        { scheme: 'untitled', language: 'vnuma' },
      ],
      outputChannel: output,
      middleware: {
        // A "migrate to HOST" lens runs the server's command; its answer is shown here.
        executeCommand: async (command, args, next) => {
          const result = await next(command, args);
          if (command === 'vnuma.migrate') {
            await showMigration(result);
          }
          return result;
        },
      },
    },
  );
  try {
    await client.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const choice = await vscode.window.showErrorMessage(
      `vnuma: could not start the language server \`${command}\`: ${message}. ` +
        'Install it with `cargo install --path lsp` from the vnumac repository, ' +
        'or set `vnuma.server.path`. Highlighting works without it.',
      'Open Settings',
    );
    if (choice === 'Open Settings') {
      vscode.commands.executeCommand('workbench.action.openSettings', 'vnuma.server.path');
    }
  }
}

async function stopClient() {
  const old = client;
  client = undefined;
  if (old) {
    try {
      await old.stop();
    } catch {
      // A server that never started cannot be stopped; nothing to do.
    }
  }
}

/** The running client, or undefined after telling the user why there is none. */
function readyClient() {
  if (client && client.isRunning()) {
    return client;
  }
  vscode.window.showErrorMessage(
    'vnuma: the language server is not running. Check `vnuma.server.path` and the "vnuma" output channel.',
  );
  return undefined;
}

function activeVnumaEditor() {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'vnuma') {
    vscode.window.showErrorMessage('vnuma: open a .vnuma file first.');
    return undefined;
  }
  return editor;
}

async function openResult(text, language) {
  const doc = await vscode.workspace.openTextDocument({ content: text, language });
  await vscode.window.showTextDocument(doc, { preview: false, viewColumn: vscode.ViewColumn.Beside });
}

function reportFailure(what, err) {
  const message = err instanceof Error ? err.message : String(err);
  vscode.window.showErrorMessage(`vnuma: ${what} failed: ${message}`);
}

/** `vnuma/showLowered` for the guest under the cursor: `{guest, text}`. */
async function showLowered(format) {
  const editor = activeVnumaEditor();
  const c = editor && readyClient();
  if (!editor || !c) {
    return;
  }
  const params = {
    textDocument: c.code2ProtocolConverter.asTextDocumentIdentifier(editor.document),
    position: c.code2ProtocolConverter.asPosition(editor.selection.active),
    format,
  };
  try {
    const result = await c.sendRequest('vnuma/showLowered', params);
    if (!result || typeof result.text !== 'string') {
      vscode.window.showInformationMessage('vnuma: no guest to lower here.');
      return;
    }
    const header = format === 'qemu' && result.guest ? `# guest ${result.guest}\n` : '';
    await openResult(header + result.text, format === 'xml' ? 'xml' : 'shellscript');
  } catch (err) {
    reportFailure('vnuma/showLowered', err);
  }
}

/** `vnuma/explain` for the whole file: `{text}`. */
async function explain() {
  const editor = activeVnumaEditor();
  const c = editor && readyClient();
  if (!editor || !c) {
    return;
  }
  const params = {
    textDocument: c.code2ProtocolConverter.asTextDocumentIdentifier(editor.document),
    format: 'text',
  };
  try {
    const result = await c.sendRequest('vnuma/explain', params);
    if (!result || typeof result.text !== 'string') {
      vscode.window.showInformationMessage('vnuma: nothing to explain.');
      return;
    }
    await openResult(result.text, 'plaintext');
  } catch (err) {
    reportFailure('vnuma/explain', err);
  }
}

/** The answer of `vnuma.migrate` or `vnuma/migrate`: `{guest, host, moved, text, warnings}`. */
async function showMigration(result) {
  if (!result || typeof result.text !== 'string') {
    vscode.window.showInformationMessage('vnuma: no guest to migrate here.');
    return;
  }
  if (!result.moved) {
    vscode.window.showErrorMessage(`vnuma: guest ${result.guest} does not move to host ${result.host}.`);
    await openResult(result.text, 'plaintext');
    return;
  }
  await openResult(result.text, 'xml');
  if (result.warnings) {
    vscode.window.showWarningMessage(`vnuma: ${result.warnings}`);
  }
}

function contains(range, position) {
  const after = (a, b) => a.line > b.line || (a.line === b.line && a.character >= b.character);
  return after(position, range.start) && after(range.end, position);
}

/** `vnuma/migrate` for the guest under the cursor, to a host picked among its lenses. */
async function migrateGuest() {
  const editor = activeVnumaEditor();
  const c = editor && readyClient();
  if (!editor || !c) {
    return;
  }
  const textDocument = c.code2ProtocolConverter.asTextDocumentIdentifier(editor.document);
  const position = c.code2ProtocolConverter.asPosition(editor.selection.active);
  try {
    const lenses = (await c.sendRequest('textDocument/codeLens', { textDocument })) || [];
    const hosts = lenses
      .filter((l) => l.command && contains(l.range, position))
      .map((l) => l.command.arguments[2]);
    if (hosts.length === 0) {
      vscode.window.showInformationMessage(
        'vnuma: no guest to migrate here (a guest on a host, in a program without errors that has other hosts).',
      );
      return;
    }
    const host = await vscode.window.showQuickPick(hosts, { placeHolder: 'Migrate to host' });
    if (host) {
      await showMigration(await c.sendRequest('vnuma/migrate', { textDocument, position, host }));
    }
  } catch (err) {
    reportFailure('vnuma/migrate', err);
  }
}

async function activate(context) {
  output = vscode.window.createOutputChannel('vnuma');
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('vnuma.showLoweredXml', () => showLowered('xml')),
    vscode.commands.registerCommand('vnuma.showQemuCommandLine', () => showLowered('qemu')),
    vscode.commands.registerCommand('vnuma.explainPlacement', () => explain()),
    vscode.commands.registerCommand('vnuma.migrateGuest', () => migrateGuest()),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('vnuma.server.path')) {
        await stopClient();
        await startClient();
      }
    }),
  );
  await startClient();
}

function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate };
