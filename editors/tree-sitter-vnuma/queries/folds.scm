; A block folds from its `{` to its `}`.
(block) @fold
