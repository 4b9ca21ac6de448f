-- Headless test of the tree-sitter grammar of .vnuma in Neovim 0.7.2+.
--
--   PARSER=/path/to/vnuma.so QUERIES=/dir/with/queries/vnuma OUT_JSON=/tmp/out.json \
--   timeout 60 nvim --headless --clean -c "luafile editors/nvim/treesitter.lua" FILE.vnuma
--
-- PARSER is the grammar's parser built as a shared library
-- (cc -shared -fPIC -I src src/parser.c -o vnuma.so in editors/tree-sitter-vnuma).
-- QUERIES is a directory put on the runtimepath, holding the grammar's queries as
-- queries/vnuma/{highlights,folds,indents}.scm. The script loads the parser, parses
-- FILE, starts the highlighter on it, and reads the three queries as Neovim finds them
-- on the runtimepath. It writes as JSON to OUT_JSON: whether the tree has an error,
-- every capture of each query (0-based row and byte column of start and end, and the
-- capture name; predicates applied by Neovim), and `failures`. It exits 1
-- (`cquit 1`) when a step fails. Only APIs present in Neovim 0.7.2 are used, or their
-- later names when those are there.

local out = { failures = {} }

local function fail(msg)
  table.insert(out.failures, msg)
  io.stderr:write('treesitter.lua: FAIL: ' .. msg .. '\n')
end

local function captures(query, root)
  local list = {}
  for id, node in query:iter_captures(root, 0, 0, -1) do
    local sr, sc, er, ec = node:range()
    table.insert(list, { sr, sc, er, ec, query.captures[id] })
  end
  return list
end

local function run()
  local parser_path = os.getenv('PARSER')
  local queries = os.getenv('QUERIES')
  out.out_json = os.getenv('OUT_JSON')
  if not parser_path or not queries or not out.out_json then
    fail('PARSER, QUERIES and OUT_JSON must be set')
    return
  end
  vim.opt.runtimepath:prepend(queries)
  if vim.treesitter.language.add then
    vim.treesitter.language.add('vnuma', { path = parser_path })
  else
    vim.treesitter.require_language('vnuma', parser_path)
  end
  vim.bo.filetype = 'vnuma'

  local parser = vim.treesitter.get_parser(0, 'vnuma')
  local root = parser:parse()[1]:root()
  out.has_error = root:has_error()
  out.root = root:type()

  if vim.treesitter.start then
    vim.treesitter.start(0, 'vnuma')
  else
    vim.treesitter.highlighter.new(parser)
  end
  out.highlighter = vim.treesitter.highlighter.active[vim.api.nvim_get_current_buf()] ~= nil

  local get_query = vim.treesitter.query.get or vim.treesitter.query.get_query
  for _, name in ipairs({ 'highlights', 'folds', 'indents' }) do
    local query = get_query('vnuma', name)
    if query == nil then
      fail('no ' .. name .. ' query on the runtimepath')
    else
      out[name] = captures(query, root)
    end
  end
end

local ok, err = pcall(run)
if not ok then
  fail('Lua error: ' .. tostring(err))
end
out.ok = #out.failures == 0

local wrote = false
if out.out_json ~= nil then
  wrote = pcall(vim.fn.writefile, { vim.fn.json_encode(out) }, out.out_json)
end

if out.ok and wrote then
  vim.cmd('qall!')
else
  vim.cmd('cquit 1')
end
