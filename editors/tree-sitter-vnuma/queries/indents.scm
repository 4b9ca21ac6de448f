; Indentation for Neovim (nvim-treesitter's captures): the statements of a
; block are indented one level, and its `}` goes back to the statement's.
(block) @indent.begin

(block
  "}" @indent.branch)
