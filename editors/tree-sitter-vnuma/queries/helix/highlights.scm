; Highlights for .vnuma in Helix: queries/highlights.scm with Helix's scope
; names. Copy this file to runtime/queries/vnuma/highlights.scm in Helix's
; configuration directory (see docs/editors.md).

(comment) @comment

(statement
  keyword: (keyword) @keyword)

(property
  key: (key) @variable.other.member)

"=" @operator

; The name a statement defines: `guest NAME`, `host NAME`, ...
(statement
  keyword: (keyword) @keyword
  .
  (word) @type
  (#any-of? @keyword "guest" "host" "expander" "root-port" "nic" "disk"))

(string) @string

(escape_sequence) @constant.character.escape

[
  (integer)
  (size)
  (set)
] @constant.numeric.integer

((word) @constant.builtin.boolean
  (#any-of? @constant.builtin.boolean "true" "false"))

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
