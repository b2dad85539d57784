//! glibc's `getopt_long` as conntrack calls it: an optstring that starts with `:` (so
//! getopt prints nothing itself and a missing argument is told apart from an unknown
//! option), short options combined in one word (`-Lf`, `-fipv4`), a required argument
//! attached or in the next word whatever it looks like, an optional argument only when
//! attached, long options by any unique prefix (`--vers`) or `--name=value`, an
//! ambiguous or unknown one refused, and words that are no option skipped (glibc
//! permutes them to the end; conntrack never reads them). `--` ends the options.
//!
//! conntrack reads the words after some options itself (an optional argument in the
//! next word, `get_optional_arg`), so the parser exposes its position: the caller may
//! take the next word with [`Getopt::take_optional_word`].

/// How an option takes its argument (glibc's `has_arg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasArg {
    No,
    Required,
    Optional,
}

/// One long option: its name, how it takes an argument, and what it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongOpt<V> {
    pub name: &'static str,
    pub has_arg: HasArg,
    pub val: V,
}

/// What one call of getopt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<V> {
    /// An option, with its argument if it took one.
    Opt(V, Option<String>),
    /// An unknown option, an ambiguous abbreviation or an argument given to an option
    /// that takes none (glibc's `?`); the word to name is [`Getopt::last_word`].
    Unknown,
    /// A required argument is missing (glibc's `:`); the word to name is
    /// [`Getopt::last_word`].
    MissingArgument,
}

/// The parser's state over one command line; `argv[0]` is the program's name.
pub struct Getopt<'a> {
    argv: &'a [String],
    /// glibc's `optind`: the next word to scan.
    optind: usize,
    /// Where in `argv[optind]` the next short option is, inside a word of several.
    nextchar: Option<usize>,
    /// Past `--`: nothing more is an option.
    done: bool,
}

impl<'a> Getopt<'a> {
    pub fn new(argv: &'a [String]) -> Getopt<'a> {
        Getopt {
            argv,
            optind: 1,
            nextchar: None,
            done: false,
        }
    }

    /// `argv[optind - 1]`, the word conntrack names in its two getopt messages.
    pub fn last_word(&self) -> &str {
        self.argv
            .get(self.optind.saturating_sub(1))
            .map_or("", String::as_str)
    }

    /// conntrack's `get_optional_arg` after an option whose argument was not attached:
    /// the next word, when there is one and it starts with neither `-` nor `!`.
    pub fn take_optional_word(&mut self) -> Option<String> {
        if self.nextchar.is_some() {
            // Still inside a word of short options: glibc's optind is that word's.
            return None;
        }
        let word = self.argv.get(self.optind)?;
        if word.starts_with('-') || word.starts_with('!') {
            return None;
        }
        self.optind += 1;
        Some(word.clone())
    }

    /// The next option, or None at the end. `short` says what a short option letter
    /// stands for and how it takes its argument; `long` is the long option table.
    pub fn next<V: Copy + PartialEq>(
        &mut self,
        short: impl Fn(char) -> Option<(V, HasArg)>,
        long: &[LongOpt<V>],
    ) -> Option<Found<V>> {
        if let Some(at) = self.nextchar {
            return Some(self.short_option(at, &short));
        }
        loop {
            if self.done {
                return None;
            }
            let word = self.argv.get(self.optind)?;
            if word == "--" {
                self.done = true;
                return None;
            }
            if !word.starts_with('-') || word == "-" {
                // A word that is no option: glibc permutes it away, conntrack ignores it.
                self.optind += 1;
                continue;
            }
            if let Some(body) = word.strip_prefix("--") {
                return Some(self.long_option(body, long));
            }
            return Some(self.short_option(1, &short));
        }
    }

    fn short_option<V: Copy>(
        &mut self,
        at: usize,
        short: &impl Fn(char) -> Option<(V, HasArg)>,
    ) -> Found<V> {
        let word = &self.argv[self.optind];
        let letter = word[at..].chars().next().unwrap_or('\0');
        let after = at + letter.len_utf8();
        let rest_of_word = &word[after..];
        let last_in_word = rest_of_word.is_empty();
        let finish_word = |getopt: &mut Getopt| {
            getopt.nextchar = None;
            getopt.optind += 1;
        };
        match short(letter) {
            None => {
                if last_in_word {
                    finish_word(self);
                } else {
                    self.nextchar = Some(after);
                }
                Found::Unknown
            }
            Some((val, HasArg::No)) => {
                if last_in_word {
                    finish_word(self);
                } else {
                    self.nextchar = Some(after);
                }
                Found::Opt(val, None)
            }
            Some((val, HasArg::Optional)) => {
                let arg = (!last_in_word).then(|| rest_of_word.to_string());
                finish_word(self);
                Found::Opt(val, arg)
            }
            Some((val, HasArg::Required)) => {
                if !last_in_word {
                    let arg = rest_of_word.to_string();
                    finish_word(self);
                    return Found::Opt(val, Some(arg));
                }
                finish_word(self);
                match self.argv.get(self.optind) {
                    Some(next) => {
                        let arg = next.clone();
                        self.optind += 1;
                        Found::Opt(val, Some(arg))
                    }
                    None => Found::MissingArgument,
                }
            }
        }
    }

    fn long_option<V: Copy + PartialEq>(&mut self, body: &str, long: &[LongOpt<V>]) -> Found<V> {
        let (name, attached) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (body, None),
        };
        self.optind += 1;
        let Some(opt) = find_long(name, long) else {
            return Found::Unknown;
        };
        match (opt.has_arg, attached) {
            (HasArg::No, Some(_)) => Found::Unknown,
            (HasArg::No, None) => Found::Opt(opt.val, None),
            (HasArg::Optional, arg) => Found::Opt(opt.val, arg),
            (HasArg::Required, Some(arg)) => Found::Opt(opt.val, Some(arg)),
            (HasArg::Required, None) => match self.argv.get(self.optind) {
                Some(next) => {
                    let arg = next.clone();
                    self.optind += 1;
                    Found::Opt(opt.val, Some(arg))
                }
                None => Found::MissingArgument,
            },
        }
    }
}

/// glibc's lookup: an exact name wins; else the one option the prefix starts, or
/// several that all mean the same (same `has_arg` and `val`, as `--src`/`--orig-src`
/// would); else nothing (unknown, or ambiguous).
fn find_long<V: Copy + PartialEq>(name: &str, long: &[LongOpt<V>]) -> Option<LongOpt<V>> {
    if name.is_empty() {
        return None;
    }
    if let Some(exact) = long.iter().find(|o| o.name == name) {
        return Some(*exact);
    }
    let mut found: Option<LongOpt<V>> = None;
    for candidate in long.iter().filter(|o| o.name.starts_with(name)) {
        match found {
            None => found = Some(*candidate),
            Some(first) if first.has_arg == candidate.has_arg && first.val == candidate.val => {}
            Some(_) => return None,
        }
    }
    found
}
