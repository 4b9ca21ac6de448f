/**
 * @file The .vnuma language, read as grammar/vnuma.pest reads it.
 * @license MIT OR Apache-2.0
 *
 * Statements are uniform: a keyword, then arguments and `key=value` properties
 * in any order, then an optional `{ block }` of statements. What a statement
 * may contain is the checker's business, so a new statement parses without a
 * change here. A statement ends at a line end (`\n`, `\r\n` or a lone `\r`),
 * at `;`, before the `}` of its block or at the end of the file; it never runs
 * over a line end. `#` starts a comment running to the end of its line.
 *
 * What the pest grammar reports as a syntax error (E0101) is an ERROR or
 * MISSING node here: a line that does not start with a keyword, spaces around
 * `=`, `key=` without a value, an unterminated string, text after a block, a
 * `}` with no open block, a `{` never closed.
 */

// The value tokens. After `=` each has an immediate twin: nothing may stand
// between `=` and its value (the pest grammar's `prop` is compound-atomic).
const IEC_UNIT = /B|KiB|MiB|GiB|TiB|PiB/;
const DECIMAL = /[0-9][0-9_]*/;
const HEX = /0[xX][0-9A-Fa-f_]+/;
const INTEGER = choice(HEX, DECIMAL);
const SIZE = seq(choice(DECIMAL, /0[xX][0-9A-Fa-f_]*/), IEC_UNIT);
// A CPU or node set: ids and ranges separated by commas, `^` excludes one.
const SET = /\^?[0-9]+(-[0-9]+)?(,\^?[0-9]+(-[0-9]+)?)*/;
const WORD = /[A-Za-z][A-Za-z0-9_-]*/;
// Any other run of characters that cannot start or end something else.
const BARE = /[^ \t\r\n{};#"=]+/;

/** Statements between separators: each but the last followed by one. */
function statements($) {
  return seq(
    repeat($._separator),
    repeat(seq($.statement, repeat1($._separator))),
    optional($.statement),
  );
}

module.exports = grammar({
  name: 'vnuma',

  // Spaces, tabs and comments separate anything; a line end is a separator.
  extras: $ => [/[ \t]/, $.comment],

  rules: {
    source_file: $ => statements($),

    statement: $ => seq(
      field('keyword', alias($.word, $.keyword)),
      repeat(choice($.property, $._value)),
      optional(field('block', $.block)),
    ),

    block: $ => seq('{', statements($), '}'),

    property: $ => seq(
      field('key', alias($.word, $.key)),
      token.immediate('='),
      field('value', $._immediate_value),
    ),

    // The order of the value tokens below is the order in which a text that
    // several match in full is read: `4` is an integer, not a set.
    _value: $ => choice(
      $.string,
      $.integer,
      $.size,
      $.set,
      $.word,
      $.bare,
    ),

    _immediate_value: $ => choice(
      alias($._immediate_string, $.string),
      alias(token.immediate(INTEGER), $.integer),
      alias(token.immediate(SIZE), $.size),
      alias(token.immediate(SET), $.set),
      alias(token.immediate(WORD), $.word),
      alias(token.immediate(BARE), $.bare),
    ),

    integer: _ => token(INTEGER),
    size: _ => token(SIZE),
    set: _ => token(SET),
    word: _ => token(WORD),
    bare: _ => token(BARE),

    string: $ => seq('"', $._string_rest),
    _immediate_string: $ => seq(token.immediate('"'), $._string_rest),
    _string_rest: $ => seq(
      repeat(choice($.string_content, $.escape_sequence)),
      token.immediate('"'),
    ),
    string_content: _ => token.immediate(prec(1, /[^"\\\r\n]+/)),
    // `\` escapes any character but a line end; which escapes mean something
    // (`\"`, `\\`, `\n`, `\t`, `\u{...}`) is the checker's business (E0102).
    escape_sequence: _ => token.immediate(prec(1, /\\(u\{[^}"\r\n]*\}|[^\r\n])/)),

    comment: _ => token(seq('#', /[^\r\n]*/)),

    _separator: _ => choice(/\r\n|\r|\n/, ';'),
  },
});
