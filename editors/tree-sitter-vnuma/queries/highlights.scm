; Highlights for .vnuma, with the capture names of Neovim and the tree-sitter
; CLI. queries/helix/highlights.scm captures the same nodes with Helix's names
; (a test holds them to each other). No two patterns give a node different
; names, so which of two patterns wins (the first in older tree-sitter
; highlighters, the last in Neovim and newer ones) does not matter.

(comment) @comment

(statement
  keyword: (keyword) @keyword)

(property
  key: (key) @property)

"=" @operator

; The name a statement defines: `guest NAME`, `host NAME`, ...
(statement
  keyword: (keyword) @keyword
  .
  (word) @type
  (#any-of? @keyword "guest" "host" "expander" "root-port" "nic" "disk"))

(string) @string

(escape_sequence) @string.escape

[
  (integer)
  (size)
  (set)
] @number

((word) @boolean
  (#any-of? @boolean "true" "false"))

; Enum words and references to names: `mode=node`, `on=HOST`.
((property
  value: (word) @constant)
  (#not-any-of? @constant "true" "false"))

; MAC and PCI addresses and any other value of no kind the grammar knows.
(bare) @constant

[
  "{"
  "}"
] @punctuation.bracket

";" @punctuation.delimiter
