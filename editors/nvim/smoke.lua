-- Headless end-to-end smoke test of a vnuma language server in Neovim 0.7.2+.
--
--   SERVER_CMD=/path/to/vnuma-lsp OUT_JSON=/tmp/out.json \
--   HOVER_LINE=4 HOVER_COL=2 FIXED_FILE=fixed.vnuma \
--   timeout 120 nvim --headless --clean -c "luafile editors/nvim/smoke.lua" FILE.vnuma
--
-- FILE.vnuma must contain at least one error. The script:
--   1. sets filetype=vnuma, starts SERVER_CMD (split on whitespace) over stdio
--      with root_dir = cwd, attaches it to the buffer, waits up to 20 s for
--      diagnostics and records them (lnum, col, code, severity, message);
--   2. requests textDocument/hover at HOVER_LINE/HOVER_COL (0-based, default
--      0/0) and records the hover text;
--   3. requests textDocument/formatting and records whether edits came back;
--   4. replaces the buffer with FIXED_FILE (Neovim sends didChange) and waits
--      up to 20 s for a new publish with no ERROR diagnostics;
--   5. stops the client, writes everything as JSON to OUT_JSON and exits 0.
-- It exits 1 (`cquit 1`) on any failure: the server does not start, no
-- diagnostics or no error among them, a request times out or returns an LSP
-- error, an empty hover, errors that do not clear, or a Lua error. The JSON is
-- written in every case, with the reasons in `failures`.
-- Only APIs present in Neovim 0.7.2 are used (no vim.lsp.start, nvim -l,
-- vim.lsp.get_clients).

local WAIT_MS = 20000
local REQUEST_MS = 10000

local out = { failures = {} }

local function log(msg)
  io.stderr:write('smoke.lua: ' .. msg .. '\n')
end

local function fail(msg)
  table.insert(out.failures, msg)
  log('FAIL: ' .. msg)
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == '' then
    return default
  end
  return v
end

local function to_json(v)
  return vim.fn.json_encode(v)
end

local severity_names = { 'ERROR', 'WARN', 'INFO', 'HINT' }

local function record_diagnostics(bufnr)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local code = d.code
    if code == nil and d.user_data and d.user_data.lsp then
      code = d.user_data.lsp.code
    end
    table.insert(list, {
      lnum = d.lnum,
      col = d.col,
      code = code == nil and vim.NIL or code,
      severity = severity_names[d.severity] or d.severity,
      message = d.message,
    })
  end
  return list
end

local function count_errors(bufnr)
  return #vim.diagnostic.get(bufnr, { severity = vim.diagnostic.severity.ERROR })
end

-- The text of a hover result: MarkupContent, MarkedString, or a list of them.
local function hover_text(contents)
  if type(contents) == 'string' then
    return contents
  end
  if type(contents) ~= 'table' then
    return ''
  end
  if contents.value ~= nil then
    return tostring(contents.value)
  end
  local parts = {}
  for _, c in ipairs(contents) do
    table.insert(parts, hover_text(c))
  end
  return table.concat(parts, '\n')
end

-- One request through buf_request_sync: returns result, or nil after recording a failure.
local function request(bufnr, client_id, method, params)
  local responses, err = vim.lsp.buf_request_sync(bufnr, method, params, REQUEST_MS)
  if responses == nil then
    fail(method .. ': ' .. tostring(err or 'no response'))
    return nil, false
  end
  local response = responses[client_id]
  if response == nil then
    fail(method .. ': no response from the client')
    return nil, false
  end
  if response.err ~= nil or response.error ~= nil then
    local e = response.err or response.error
    fail(method .. ': LSP error: ' .. (type(e) == 'table' and tostring(e.message) or tostring(e)))
    return nil, false
  end
  return response.result, true
end

local function run()
  local server_cmd = env('SERVER_CMD', 'vnuma-lsp')
  local out_json = env('OUT_JSON', nil)
  local fixed_file = env('FIXED_FILE', nil)
  local hover_line = tonumber(env('HOVER_LINE', '0'))
  local hover_col = tonumber(env('HOVER_COL', '0'))
  if out_json == nil then
    error('OUT_JSON is not set')
  end
  out.out_json = out_json
  if fixed_file == nil then
    error('FIXED_FILE is not set')
  end

  local bufnr = vim.api.nvim_get_current_buf()
  local fname = vim.api.nvim_buf_get_name(bufnr)
  if fname == '' then
    error('no file given: run as nvim --headless --clean -c "luafile smoke.lua" FILE.vnuma')
  end
  out.file = fname
  vim.api.nvim_buf_set_option(bufnr, 'filetype', 'vnuma')
  out.filetype = vim.api.nvim_buf_get_option(bufnr, 'filetype')

  -- Count publishes, so that "no errors" after the change means the server answered it.
  local publishes = 0
  local default_publish = vim.lsp.handlers['textDocument/publishDiagnostics']
  local client_id = vim.lsp.start_client({
    name = 'vnuma-lsp',
    cmd = vim.fn.split(server_cmd),
    root_dir = vim.fn.getcwd(),
    handlers = {
      ['textDocument/publishDiagnostics'] = function(err, result, ctx, config)
        publishes = publishes + 1
        return default_publish(err, result, ctx, config)
      end,
    },
  })
  if client_id == nil then
    fail('could not start ' .. server_cmd)
    return
  end
  out.server_cmd = server_cmd

  if not vim.lsp.buf_attach_client(bufnr, client_id) then
    fail('buf_attach_client failed')
    return
  end
  local initialized = vim.wait(WAIT_MS, function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c ~= nil and c.initialized == true
  end, 50)
  local client = vim.lsp.get_client_by_id(client_id)
  if not initialized or client == nil then
    fail('the server did not initialize within ' .. WAIT_MS .. ' ms')
    return
  end
  local caps = client.server_capabilities or {}
  out.capabilities = {
    hover = caps.hoverProvider ~= nil and caps.hoverProvider ~= false,
    formatting = caps.documentFormattingProvider ~= nil and caps.documentFormattingProvider ~= false,
  }

  -- 1. Diagnostics for the broken file.
  local got = vim.wait(WAIT_MS, function()
    return #vim.diagnostic.get(bufnr) > 0
  end, 50)
  out.diagnostics = record_diagnostics(bufnr)
  out.initial_errors = count_errors(bufnr)
  if not got then
    fail('no diagnostics within ' .. WAIT_MS .. ' ms')
  elseif out.initial_errors == 0 then
    fail('diagnostics arrived but none is an ERROR; FILE must contain an error')
  end

  -- 2. Hover.
  local hover_params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = hover_line, character = hover_col },
  }
  out.hover_position = { line = hover_line, character = hover_col }
  local hover, hover_ok = request(bufnr, client_id, 'textDocument/hover', hover_params)
  out.hover = vim.NIL
  if hover_ok then
    local text = hover and hover_text(hover.contents) or ''
    if text == '' then
      fail(string.format('empty hover at %d:%d (0-based)', hover_line, hover_col))
    else
      out.hover = text
    end
  end

  -- 3. Formatting (edits are recorded, not applied).
  local fmt_params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    options = { tabSize = 2, insertSpaces = true },
  }
  local edits, fmt_ok = request(bufnr, client_id, 'textDocument/formatting', fmt_params)
  out.formatting = {
    ok = fmt_ok,
    edits = (fmt_ok and type(edits) == 'table') and #edits or 0,
  }
  out.formatting.returned_edits = out.formatting.edits > 0

  -- 4. Fix the file through the buffer: Neovim sends didChange.
  local lines = vim.fn.readfile(fixed_file)
  local before = publishes
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  local cleared = vim.wait(WAIT_MS, function()
    return publishes > before and count_errors(bufnr) == 0
  end, 50)
  out.after_change = {
    fixed_file = fixed_file,
    publishes = publishes - before,
    errors = count_errors(bufnr),
    diagnostics = record_diagnostics(bufnr),
    cleared = cleared,
  }
  if not cleared then
    fail(string.format(
      'ERROR diagnostics did not clear within %d ms after the change (%d publish(es), %d error(s))',
      WAIT_MS,
      publishes - before,
      count_errors(bufnr)
    ))
  end
  out.publishes = publishes

  -- 5. Stop the client.
  vim.lsp.stop_client(client_id)
  local stopped = vim.wait(5000, function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c == nil or c.is_stopped()
  end, 50)
  if not stopped then
    vim.lsp.stop_client(client_id, true)
  end
  out.stopped = stopped
end

local ok, err = pcall(run)
if not ok then
  fail('Lua error: ' .. tostring(err))
end
out.ok = #out.failures == 0

local wrote = false
if out.out_json ~= nil then
  wrote = pcall(vim.fn.writefile, { to_json(out) }, out.out_json)
  if not wrote then
    log('could not write ' .. out.out_json)
  end
end

if out.ok and wrote then
  log('ok')
  vim.cmd('qall!')
else
  vim.cmd('cquit 1')
end
