; Indentation for Helix: the statements of a block are indented one level, and
; a line starting with its `}` goes back to the statement's. Copy this file to
; runtime/queries/vnuma/indents.scm in Helix's configuration directory.
(block) @indent

(block
  "}" @outdent)
