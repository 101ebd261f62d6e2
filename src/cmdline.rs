//! The kernel command line (QEMU's `-append`, the device tree's `/chosen/bootargs`), split
//! the way Linux splits it: `lib/cmdline.c` `next_arg` cuts it into words, `kernel/params.c`
//! `parse_args` stops at `--`, and `init/main.c` hands everything after the `--` to init.
//!
//! ```text
//!   semihosting init="/bin/my prog" -- sh -c "echo a; echo b"
//!   \_________/ \_________________/    \__________________/
//!   a bare word  name=value (quoted)    init's arguments: sh, -c, echo a; echo b
//! ```
//!
//! Linux's quoting rules, exactly (each checked against Linux 6.1 booted with such a line):
//! - words are separated by whitespace; a `"` switches "inside quotes" on and off, and
//!   inside quotes whitespace does not separate words;
//! - only the quotes at the *edges* are removed: the one a word starts with and the one it
//!   then ends with, and in `name="value"` the one the value starts with and the word's
//!   last one. A quote in the middle stays: `a"b c"d` is the one word `a"b c"d`;
//! - there is no escape character, so a word cannot contain a quote of its own at its edge;
//! - an unterminated quote runs to the end of the line (`"a b` is the word `a b`);
//! - `""` is an empty word, and `--` (quoted or not) ends the list it is in: the kernel's
//!   parameters end at the first `--`, and init's arguments at a second one (the rest of
//!   the line is ignored, as on Linux).
//!
//! Nothing here allocates: every name and value is a slice of the command line.

use core::fmt;

/// One word of the command line: `name`, or `name=value` (split at the first `=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    pub name: &'a str,
    pub value: Option<&'a str>,
}

impl Param<'_> {
    /// The word that ends a list of parameters (`parse_args`: "Stop at --").
    pub fn is_dashes(&self) -> bool {
        self.name == "--" && self.value.is_none()
    }
}

/// The word as init receives it in its argv: `name`, or `name=value` with the value's
/// quotes already gone (Linux `repair_env_string` puts the `=` back the same way), so
/// `x="a b"` becomes `x=a b`.
impl fmt::Display for Param<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(v) => write!(f, "{}={}", self.name, v),
            None => f.write_str(self.name),
        }
    }
}

/// Linux's `isspace` for the bytes that can separate words. (Linux also counts 0xa0, a
/// Latin-1 space; in UTF-8 that byte is only ever part of a longer character, so it is
/// never a separator here — and cutting there would split a character.)
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn skip_spaces(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| is_space(b)).count();
    &s[n..]
}

/// Linux `next_arg`: the first word of `args` (which must not start with a space) and
/// what follows it, its trailing spaces skipped. Every index it cuts at is that of an
/// ASCII byte (a space, a quote, an `=`), so the slices are always valid UTF-8.
pub fn next_arg(args: &str) -> (Param<'_>, &str) {
    // A word that starts with a quote starts inside quotes, without that quote.
    let quoted = args.starts_with('"');
    let args = if quoted { &args[1..] } else { args };
    let bytes = args.as_bytes();
    let mut in_quote = quoted;
    // Like Linux, 0 means "no `=` yet", so an `=` as the very first byte does not count.
    let mut equals = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_space(b) && !in_quote {
            break;
        }
        if equals == 0 && b == b'=' {
            equals = i;
        }
        if b == b'"' {
            in_quote = !in_quote;
        }
        i += 1;
    }
    // The word is args[..i]; a quote it ends with is removed when the word began with
    // one or its value does (that is all the unquoting there is).
    let ends_in_quote = i > 0 && bytes[i - 1] == b'"';
    let mut end = i;
    let param = if equals == 0 {
        if quoted && ends_in_quote {
            end = i - 1;
        }
        Param {
            name: &args[..end],
            value: None,
        }
    } else {
        let mut value_start = equals + 1;
        if bytes.get(value_start) == Some(&b'"') {
            value_start += 1;
            if ends_in_quote {
                end = i - 1;
            }
        } else if quoted && ends_in_quote {
            end = i - 1;
        }
        // `x="` : the value's opening quote is also the word's last byte, so
        // value_start > end: the value is empty, as Linux's is.
        let value = args.get(value_start..end).unwrap_or("");
        Param {
            name: &args[..equals],
            value: Some(value),
        }
    };
    // Past the separating space (if any), then past the spaces after it.
    let rest = if i < bytes.len() { &args[i + 1..] } else { "" };
    (param, skip_spaces(rest))
}

/// The words of a command line up to (not including) the first `--`.
#[derive(Clone)]
pub struct Params<'a> {
    rest: &'a str,
}

impl<'a> Params<'a> {
    pub fn new(cmdline: &'a str) -> Self {
        Params {
            rest: skip_spaces(cmdline),
        }
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let (param, rest) = next_arg(self.rest);
        self.rest = if param.is_dashes() { "" } else { rest };
        (!param.is_dashes()).then_some(param)
    }
}

/// Splits a command line as Linux's `start_kernel` does: the kernel's parameters (up to
/// the first `--`) and init's arguments (after it; none without a `--`). Print each of
/// init's with `Display` (`to_string()`) to get its argv string.
pub fn split(cmdline: &str) -> (Params<'_>, Params<'_>) {
    let mut rest = skip_spaces(cmdline);
    while !rest.is_empty() {
        let (param, after) = next_arg(rest);
        if param.is_dashes() {
            return (Params::new(cmdline), Params::new(after));
        }
        rest = after;
    }
    (Params::new(cmdline), Params::new(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::{String, ToString};
    use std::vec::Vec;

    /// The kernel's words as `name` / `name=value`, and init's arguments.
    fn parse(cmdline: &str) -> (Vec<String>, Vec<String>) {
        let (kernel, init) = split(cmdline);
        (
            kernel.map(|p| p.to_string()).collect(),
            init.map(|p| p.to_string()).collect(),
        )
    }

    fn init_args(cmdline: &str) -> Vec<String> {
        parse(cmdline).1
    }

    #[test]
    fn plain_words_and_several_spaces() {
        let (kernel, init) = parse("  semihosting \t init=/bin/hello   --  a   b\tc  ");
        assert_eq!(kernel, ["semihosting", "init=/bin/hello"]);
        assert_eq!(init, ["a", "b", "c"]);
        assert_eq!(parse(""), (Vec::new(), Vec::new()));
        assert_eq!(parse("   "), (Vec::new(), Vec::new()));
    }

    #[test]
    fn name_and_value() {
        let words: Vec<Param> = Params::new("init=/bin/x a=b=c quiet =x").collect();
        assert_eq!(
            words[0],
            Param {
                name: "init",
                value: Some("/bin/x")
            }
        );
        // Split at the first `=`.
        assert_eq!(
            words[1],
            Param {
                name: "a",
                value: Some("b=c")
            }
        );
        assert_eq!(
            words[2],
            Param {
                name: "quiet",
                value: None
            }
        );
        // Linux ignores an `=` at the very start of a word (it marks "none" with 0).
        assert_eq!(
            words[3],
            Param {
                name: "=x",
                value: None
            }
        );
    }

    #[test]
    fn quoted_words_lose_their_quotes() {
        // The make run ARGS='sh -c "echo a; echo b"' case.
        assert_eq!(
            parse("init=/init -- sh -c \"echo a; echo b\""),
            (
                vec!["init=/init".to_string()],
                vec!["sh".into(), "-c".into(), "echo a; echo b".into()]
            )
        );
    }

    #[test]
    fn quotes_in_the_middle_of_a_word_stay() {
        // They still group (the space inside does not split), but Linux removes only a
        // word's edge quotes: Linux 6.1 gives init `a"b c"d`, and `a""b` for a""b.
        assert_eq!(
            init_args("-- a\"b c\"d x a\"\"b"),
            ["a\"b c\"d", "x", "a\"\"b"]
        );
    }

    #[test]
    fn empty_argument() {
        assert_eq!(init_args("-- \"\" x \"\""), ["", "x", ""]);
        // A lone quote at the end is an empty word too.
        assert_eq!(init_args("-- x \""), ["x", ""]);
    }

    #[test]
    fn unterminated_quote_runs_to_the_end() {
        assert_eq!(init_args("-- a \"b c  d"), ["a", "b c  d"]);
        // Opened in the middle of a word: the rest of the line, quotes kept.
        assert_eq!(init_args("-- a\"b c d"), ["a\"b c d"]);
        // Closed again: the next space splits (Linux: a"b "c d gives `a"b "c` and `d`).
        assert_eq!(init_args("-- a\"b \"c d"), ["a\"b \"c", "d"]);
    }

    #[test]
    fn dashes_inside_quotes_do_not_split() {
        let (kernel, init) = parse("x \"a -- b\" y");
        assert_eq!(kernel, ["x", "a -- b", "y"]);
        assert!(init.is_empty());
        assert_eq!(init_args("-- sh -c \"ls -- x\""), ["sh", "-c", "ls -- x"]);
        // `--=x` is a name with a value, not the separator.
        assert_eq!(parse("--=x").0, ["--=x"]);
    }

    #[test]
    fn dashes_end_each_list() {
        // A quoted "--" is still "--" once its quotes are gone.
        assert_eq!(
            parse("a \"--\" b"),
            (vec!["a".to_string()], vec!["b".to_string()])
        );
        // A second "--" ends init's arguments; Linux drops the rest of the line.
        assert_eq!(init_args("z -- a   -- b c"), ["a"]);
        assert_eq!(init_args("-- --"), Vec::<String>::new());
        assert_eq!(init_args("x --"), Vec::<String>::new());
    }

    #[test]
    fn quoted_values() {
        let words: Vec<Param> =
            Params::new("init=\"/bin/my prog\" \"x=y z\" q=\"a b\"c e=\"").collect();
        assert_eq!(
            words[0],
            Param {
                name: "init",
                value: Some("/bin/my prog")
            }
        );
        // Quotes around the whole word: both go.
        assert_eq!(
            words[1],
            Param {
                name: "x",
                value: Some("y z")
            }
        );
        // The value's opening quote goes; its closing one only at the word's end.
        assert_eq!(
            words[2],
            Param {
                name: "q",
                value: Some("a b\"c")
            }
        );
        assert_eq!(
            words[3],
            Param {
                name: "e",
                value: Some("")
            }
        );
        // As init's arguments they are put back together with the `=`.
        assert_eq!(init_args("-- k=\"v w\" \"c=d e\""), ["k=v w", "c=d e"]);
    }

    #[test]
    fn same_as_linux() {
        // This line's init arguments as Linux 6.1 passed them to its init.
        assert_eq!(
            init_args("-- a\"b \"c d e=\" =x q=\"a b\"c --=x \"é ü\""),
            ["a\"b \"c", "d", "e= =x q=\"a", "b\"c --=x \"é", "ü\""]
        );
    }

    #[test]
    fn utf8_words() {
        assert_eq!(init_args("-- \"é ü\" ñ"), ["é ü", "ñ"]);
    }
}
