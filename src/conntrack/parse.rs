//! conntrack 1.4.7's `do_parse`: one command line into a [`Parsed`] command, with its
//! checks in conntrack's order and its messages word for word. Values are read as
//! conntrack reads them (`atol`, `strtoul`, prefixes of `-u`, `-o` and `-e` words),
//! except ports and marks, which ct checks (docs/differences.md, "Values are checked").

use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::getopt::{Found, Getopt, LongOpt};
use super::options::{self, Command, Handler, L4Opt, OPTION_NAMES, OPTIONS, Opt, bit};
use super::{Failure, Table};
use crate::filter::values::parse_port;
use crate::filter::{AddrMatch, MarkMatch, NatMatch, StatusMatch};
use crate::kernel::*;
use crate::labelmap::LabelMap;
use crate::model::entry::{DccpRole, Family};

/// `-o` words, as bits (conntrack's `_O_*`).
pub mod output {
    pub const XML: u32 = 1 << 0;
    pub const EXTENDED: u32 = 1 << 1;
    pub const TIMESTAMP: u32 = 1 << 2;
    pub const ID: u32 = 1 << 3;
    pub const KTIMESTAMP: u32 = 1 << 4;
    pub const LABELS: u32 = 1 << 5;
    /// `userspace` sets no bit in conntrack 1.4.7's table either; it is kept apart.
    pub const SAVE: u32 = 1 << 6;
}

/// `-e` words, as bits.
pub mod events {
    pub const NEW: u32 = 1 << 0;
    pub const UPDATES: u32 = 1 << 1;
    pub const DESTROY: u32 = 1 << 2;
    pub const ALL: u32 = NEW | UPDATES | DESTROY;
}

/// A command line as conntrack understood it: the command, the table, which options
/// were given (conntrack's bits) and their values, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub command: Option<Command>,
    pub table: Table,
    /// conntrack's option bits.
    pub options: u32,
    /// From `-f` or an address; conntrack's default (IPv4 for -I, -A and the
    /// expectation commands) applied.
    pub family: Option<Family>,
    pub protonum: Option<u8>,
    /// The protocol whose options were merged (the last `-p`).
    pub handler: Option<Handler>,
    pub values: Values,
}

/// The values of the options given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    /// `-s` and `-d`, with the mask of a CIDR suffix (or of `--mask-src`/`--mask-dst`).
    pub orig_src: Option<AddrMatch>,
    pub orig_dst: Option<AddrMatch>,
    pub reply_src: Option<IpAddr>,
    pub reply_dst: Option<IpAddr>,
    /// `--mask-src`, `--mask-dst` as given.
    pub mask_src: Option<IpAddr>,
    pub mask_dst: Option<IpAddr>,
    /// `--tuple-src`, `--tuple-dst`: the expected tuple of `-I expect`.
    pub tuple_src: Option<AddrMatch>,
    pub tuple_dst: Option<AddrMatch>,
    /// `-t`, as atol reads it.
    pub timeout: Option<u32>,
    /// `-u`: the flags named (`set`) and those negated or UNREPLIED (`clear`). For -I
    /// and -U, `set` is the status to give.
    pub status: Option<StatusMatch>,
    /// `-e`, as [`events`] bits.
    pub events: u32,
    /// `-o`, as [`output`] bits.
    pub output: u32,
    /// `-o userspace` was named.
    pub userspace: bool,
    pub src_nat: Option<NatMatch>,
    pub dst_nat: Option<NatMatch>,
    pub any_nat: Option<NatMatch>,
    pub zone: Option<u16>,
    pub orig_zone: Option<u16>,
    pub reply_zone: Option<u16>,
    pub id: Option<u32>,
    pub secmark: Option<u32>,
    /// `-m VALUE[/MASK]`: a filter, or for -I and -U the mark to set (with the mask of
    /// the bits to change).
    pub mark: Option<MarkMatch>,
    /// `-l`: the label names, comma lists and repeats joined.
    pub labels: Vec<String>,
    /// `--label-add`: the names of the labels to set (each one the label map names, as
    /// checked), as ct's commands take them.
    pub label_add: Vec<String>,
    /// `--label-del`: the names of the labels to clear; empty to clear all.
    pub label_del: Option<Vec<String>>,
    pub buffer_size: Option<u64>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub reply_sport: Option<u16>,
    pub reply_dport: Option<u16>,
    pub mask_sport: Option<u16>,
    pub mask_dport: Option<u16>,
    pub tuple_sport: Option<u16>,
    pub tuple_dport: Option<u16>,
    /// `--state`: the protocol's state number, as conntrack sends it (`LISTEN` is 9,
    /// which the kernel shows as SYN_SENT2).
    pub state: Option<u8>,
    pub orig_vtag: Option<u32>,
    pub reply_vtag: Option<u32>,
    pub role: Option<DccpRole>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub icmp_id: Option<u16>,
}

/// What parsing said along the way (conntrack's warnings, written as it meets them).
#[derive(Debug, Default)]
pub struct Notes(pub Vec<String>);

/// Where the label names come from, and what reading them said (read once, when an
/// option first needs them, as conntrack's `labelmap_init`).
pub struct Labels<'p> {
    path: &'p Path,
    map: Option<Option<LabelMap>>,
}

impl<'p> Labels<'p> {
    pub fn new(path: &'p Path) -> Labels<'p> {
        Labels { path, map: None }
    }

    fn load(&mut self, notes: &mut Notes) -> Option<&LabelMap> {
        if self.map.is_none() {
            let map = match LabelMap::load(self.path) {
                Ok(map) => Some(map),
                Err(err) => {
                    // conntrack's perror of nfct_labelmap_new, without the banner.
                    notes
                        .0
                        .push(format!("nfct_labelmap_new: {}", super::os_error_text(&err)));
                    None
                }
            };
            self.map = Some(map);
        }
        self.map.as_ref().and_then(Option::as_ref)
    }
}

fn parameter(message: impl Into<String>) -> Failure {
    Failure::parameter(message)
}

/// Where one parse is: the parser, the options merged so far, the values.
struct State<'a, 'p> {
    getopt: Getopt<'a>,
    long: Vec<LongOpt<Opt>>,
    parsed: Parsed,
    family: Option<Family>,
    l4flags: u32,
    labels: &'a mut Labels<'p>,
    notes: &'a mut Notes,
}

/// Parses `argv` (with the program's name first) as conntrack's `do_parse` does.
/// `handler` is the protocol handler a previous line of a `-R` file left behind
/// (conntrack keeps it in a global): its final check runs for a line without `-p`.
pub fn parse(
    argv: &[String],
    labels: &mut Labels,
    notes: &mut Notes,
    handler: Option<Handler>,
) -> Result<Parsed, Failure> {
    let mut state = State {
        getopt: Getopt::new(argv),
        long: options::LONG.to_vec(),
        parsed: Parsed {
            handler,
            ..Parsed::default()
        },
        family: None,
        l4flags: 0,
        labels,
        notes,
    };
    while let Some(found) = state.getopt.next(options::short, &state.long.clone()) {
        match found {
            Found::MissingArgument => {
                return Err(parameter(format!(
                    "option `{}' requires an argument",
                    state.getopt.last_word()
                )));
            }
            Found::Unknown => {
                return Err(parameter(format!(
                    "unknown option `{}'",
                    state.getopt.last_word()
                )));
            }
            Found::Opt(Opt::Main(letter), arg) => state.main_option(letter, arg)?,
            Found::Opt(Opt::Proto(n), arg) => state.proto_option(n, arg.unwrap_or_default())?,
        }
    }
    state.finish()
}

impl State<'_, '_> {
    fn set(&mut self, bit: usize) {
        self.parsed.options |= 1 << bit;
    }

    fn has(&self, bit: usize) -> bool {
        self.parsed.options & (1 << bit) != 0
    }

    fn add_command(&mut self, command: Command) -> Result<(), Failure> {
        if self.parsed.command.is_some() {
            return Err(parameter("Invalid commands combination"));
        }
        self.parsed.command = Some(command);
        Ok(())
    }

    /// conntrack's `check_type`: the table named in an optional argument taken from
    /// the next word (an attached one is ignored), by any prefix.
    fn table(&mut self, attached: &Option<String>) -> Result<Table, Failure> {
        if attached.is_some() {
            return Ok(Table::Conntrack);
        }
        let Some(word) = self.getopt.take_optional_word() else {
            return Ok(Table::Conntrack);
        };
        let prefix_of = |name: &str| name.starts_with(word.as_str());
        Ok(if prefix_of("expect") {
            Table::Expect
        } else if prefix_of("conntrack") {
            Table::Conntrack
        } else if prefix_of("dying") {
            Table::Dying
        } else if prefix_of("unconfirmed") {
            Table::Unconfirmed
        } else {
            return Err(parameter(format!("unknown type `{word}'")));
        })
    }

    fn set_family(&mut self, family: Family) -> Result<(), Failure> {
        match self.family {
            None => self.family = Some(family),
            Some(known) if known != family => {
                return Err(parameter("mismatched address family"));
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn main_option(&mut self, letter: char, arg: Option<String>) -> Result<(), Failure> {
        let value = || arg.clone().unwrap_or_default();
        match letter {
            'L' => {
                let table = self.table(&arg)?;
                self.parsed.table = table;
                self.add_command(match table {
                    Table::Expect => Command::ExpList,
                    _ => Command::List,
                })?;
            }
            'I' | 'D' | 'G' | 'F' | 'E' | 'V' | 'h' | 'C' | 'S' | 'U' | 'A' => {
                let table = self.table(&arg)?;
                if matches!(table, Table::Dying | Table::Unconfirmed) {
                    return Err(parameter(
                        "Can't do that command with tables `dying' and `unconfirmed'",
                    ));
                }
                let expect = table == Table::Expect;
                let command = match (letter, expect) {
                    ('I', false) => Command::Create,
                    ('I', true) => Command::ExpCreate,
                    ('D', false) => Command::Delete,
                    ('D', true) => Command::ExpDelete,
                    ('G', false) => Command::Get,
                    ('G', true) => Command::ExpGet,
                    ('F', false) => Command::Flush,
                    ('F', true) => Command::ExpFlush,
                    ('E', false) => Command::Event,
                    ('E', true) => Command::ExpEvent,
                    ('V', _) => Command::Version,
                    ('h', _) => Command::Help,
                    ('C', false) => Command::Count,
                    ('C', true) => Command::ExpCount,
                    ('S', false) => Command::Stats,
                    ('S', true) => Command::ExpStats,
                    ('U', false) => Command::Update,
                    ('A', false) => Command::Add,
                    _ => {
                        return Err(parameter(format!(
                            "Can't do --{} on expectations",
                            options::long_name(letter)
                        )));
                    }
                };
                self.parsed.table = table;
                self.add_command(command)?;
            }
            's' | 'd' | 'r' | 'q' | '[' | ']' | '{' | '}' => self.address(letter, &value())?,
            'p' => {
                self.set(bit::PROTO);
                let name = value();
                let Some((protonum, handler)) = find_protocol(&name) else {
                    return Err(parameter(format!("`{name}' unsupported protocol")));
                };
                self.long.extend(handler.table().long_opts());
                self.parsed.protonum = Some(protonum);
                self.parsed.handler = Some(handler);
            }
            't' => {
                self.set(bit::TIMEOUT);
                self.parsed.values.timeout = Some(atol(&value()) as u32);
            }
            'u' => {
                self.set(bit::STATUS);
                let status = self.parse_status(&value())?;
                self.parsed.values.status = Some(status);
            }
            'e' => {
                self.set(bit::EVENT_MASK);
                let mut mask = 0;
                self.parse_words(&value(), EVENT_WORDS, &mut mask)?;
                self.parsed.values.events |= mask;
            }
            'o' => {
                self.set(bit::OUTPUT);
                let text = value();
                let mut mask = 0;
                self.parse_words(&text, OUTPUT_WORDS, &mut mask)?;
                let values = &mut self.parsed.values;
                values.output |= mask;
                values.userspace |= text
                    .split(',')
                    .any(|w| !w.is_empty() && "userspace".starts_with(&w.to_lowercase()));
                if values.output & output::LABELS != 0 {
                    self.labels.load(self.notes);
                }
                let values = &self.parsed.values;
                if values.output & output::SAVE != 0 && values.output & !output::SAVE != 0 {
                    return Err(Failure::other(
                        "cannot combine save output with any other output type, use -o save \
                         only",
                    ));
                }
            }
            'z' => self.set(bit::ZERO),
            'n' | 'g' | 'j' => self.nat(letter, arg)?,
            'w' | '(' | ')' => {
                let (bit, slot) = match letter {
                    'w' => (bit::ZONE, &mut self.parsed.values.zone),
                    '(' => (bit::ORIG_ZONE, &mut self.parsed.values.orig_zone),
                    _ => (bit::REPLY_ZONE, &mut self.parsed.values.reply_zone),
                };
                *slot = Some(strtoul(&value()) as u16);
                self.set(bit);
            }
            'i' | 'c' => {
                let number = strtoul(&value()) as u32;
                if letter == 'i' {
                    self.set(bit::ID);
                    self.parsed.values.id = Some(number);
                } else {
                    self.set(bit::SECMARK);
                    self.parsed.values.secmark = Some(number);
                }
            }
            'm' => {
                self.set(bit::MARK);
                let text = value();
                let mark = text.parse::<MarkMatch>().map_err(|err| {
                    parameter(format!("Bad parameter `{text}' for --mark: {err}"))
                })?;
                self.parsed.values.mark = Some(mark);
            }
            'l' | '<' | '>' => self.label(letter, arg)?,
            'a' => self
                .notes
                .0
                .push("WARNING: ignoring -a, deprecated option.".to_string()),
            'f' => {
                self.set(bit::FAMILY);
                let text = value();
                if text.starts_with("ipv4") {
                    self.set_family(Family::Ipv4)?;
                } else if text.starts_with("ipv6") {
                    self.set_family(Family::Ipv6)?;
                } else {
                    return Err(parameter(format!("`{text}' unsupported protocol")));
                }
            }
            'b' => {
                self.set(bit::BUFFER_SIZE);
                self.parsed.values.buffer_size = Some(atol(&value()) as u64);
            }
            _ => {
                return Err(parameter(format!(
                    "unknown option `{}'",
                    self.getopt.last_word()
                )));
            }
        }
        Ok(())
    }

    /// `-s`, `-d`, `-r`, `-q`, the expectation tuple and the masks: an address, with a
    /// CIDR suffix where conntrack takes one (`-s`, `-d`, the tuple).
    fn address(&mut self, letter: char, text: &str) -> Result<(), Failure> {
        let (addr, prefix) =
            parse_addr(text).ok_or_else(|| parameter(format!("Invalid IP address `{text}'")))?;
        self.set_family(Family::of(addr))?;
        let takes_cidr = matches!(letter, 's' | 'd' | '[' | ']');
        match prefix {
            Prefix::None => {}
            Prefix::Invalid if takes_cidr => return Err(parameter("Invalid netmask")),
            _ if !takes_cidr => {
                return Err(parameter(format!(
                    "CIDR notation unavailable for `--{}'",
                    options::long_name(letter)
                )));
            }
            _ => {}
        }
        let matched = match prefix {
            Prefix::Len(len) => AddrMatch::exact(addr)
                .with_mask(prefix_mask(addr, len))
                .map_err(|err| parameter(format!("Invalid netmask: {err}")))?,
            _ => AddrMatch::exact(addr),
        };
        let values = &mut self.parsed.values;
        match letter {
            's' => {
                self.parsed.options |= 1 << bit::SRC;
                values.orig_src = Some(matched);
                if matches!(prefix, Prefix::Len(_)) {
                    // A prefix is conntrack's --mask-src, with its place in the
                    // commands' table: `-G -s NET/LEN` is "Illegal option `--mask-src'".
                    self.parsed.options |= 1 << bit::MASK_SRC;
                    values.mask_src = Some(matched.mask);
                }
            }
            'd' => {
                self.parsed.options |= 1 << bit::DST;
                values.orig_dst = Some(matched);
                if matches!(prefix, Prefix::Len(_)) {
                    // A prefix is conntrack's --mask-dst, with its place in the
                    // commands' table: `-G -s NET/LEN` is "Illegal option `--mask-dst'".
                    self.parsed.options |= 1 << bit::MASK_DST;
                    values.mask_dst = Some(matched.mask);
                }
            }
            'r' => {
                self.parsed.options |= 1 << bit::REPLY_SRC;
                values.reply_src = Some(addr);
            }
            'q' => {
                self.parsed.options |= 1 << bit::REPLY_DST;
                values.reply_dst = Some(addr);
            }
            '[' => {
                self.parsed.options |= 1 << bit::TUPLE_SRC;
                values.tuple_src = Some(matched);
            }
            ']' => {
                self.parsed.options |= 1 << bit::TUPLE_DST;
                values.tuple_dst = Some(matched);
            }
            '{' => {
                self.parsed.options |= 1 << bit::MASK_SRC;
                values.mask_src = Some(addr);
            }
            _ => {
                self.parsed.options |= 1 << bit::MASK_DST;
                values.mask_dst = Some(addr);
            }
        }
        Ok(())
    }

    /// `-n`, `-g`, `-j`: an optional `ADDR[:PORT]` (`[V6]:PORT`), from the next word
    /// when not attached... and, as conntrack's `get_optional_arg` has it, not even
    /// when attached.
    fn nat(&mut self, letter: char, attached: Option<String>) -> Result<(), Failure> {
        let (bit, slot_letter) = match letter {
            'n' => (bit::SRC_NAT, 'n'),
            'g' => (bit::DST_NAT, 'g'),
            _ => (bit::ANY_NAT, 'j'),
        };
        self.set(bit);
        let word = if attached.is_some() {
            None
        } else {
            self.getopt.take_optional_word()
        };
        let nat = match word {
            None => NatMatch::default(),
            Some(word) => {
                let (address, port) = split_address_and_port(&word)?;
                let (addr, prefix) = parse_addr(&address)
                    .ok_or_else(|| parameter(format!("Invalid IP address `{address}'")))?;
                self.set_family(Family::of(addr))?;
                if prefix != Prefix::None {
                    return Err(parameter(format!(
                        "CIDR notation unavailable for `--{}'",
                        options::long_name(letter)
                    )));
                }
                NatMatch {
                    addr: Some(addr),
                    port,
                }
            }
        };
        let values = &mut self.parsed.values;
        match slot_letter {
            'n' => values.src_nat = Some(nat),
            'g' => values.dst_nat = Some(nat),
            _ => values.any_nat = Some(nat),
        }
        Ok(())
    }

    fn label(&mut self, letter: char, attached: Option<String>) -> Result<(), Failure> {
        self.set(match letter {
            'l' => bit::LABEL,
            '<' => bit::LABEL_ADD,
            _ => bit::LABEL_DEL,
        });
        self.labels.load(self.notes);
        if self.has(bit::LABEL_ADD) && self.has(bit::LABEL_DEL) {
            return Err(Failure::other(
                "cannot use --label-add and --label-del at the same time",
            ));
        }
        let text = if letter == '>' {
            let word = match attached {
                // conntrack's get_optional_arg: an attached value is dropped.
                Some(_) => None,
                None => self.getopt.take_optional_word(),
            };
            match word {
                None => {
                    self.parsed.values.label_del.get_or_insert_with(Vec::new);
                    return Ok(());
                }
                Some(word) => word,
            }
        } else {
            attached.unwrap_or_default()
        };
        let map = self.labels.map.as_ref().and_then(Option::as_ref);
        if let Some(name) = text
            .split(',')
            .find(|name| map.and_then(|m| m.bit(name)).is_none())
        {
            return Err(parameter(format!("unknown label '{name}'")));
        }
        let names = text.split(',').map(str::to_string);
        let values = &mut self.parsed.values;
        match letter {
            'l' => values.labels.extend(names),
            '<' => values.label_add.extend(names),
            _ => values.label_del.get_or_insert_with(Vec::new).extend(names),
        }
        Ok(())
    }

    /// `-u`: conntrack's `parse_parameter_mask`.
    fn parse_status(&mut self, text: &str) -> Result<StatusMatch, Failure> {
        let mut status = StatusMatch::default();
        let mut rest = text;
        loop {
            let (word, more) = match rest.find(',') {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            let bad = || parameter(format!("Bad parameter `{rest}'"));
            if more.is_some() && word.is_empty() {
                return Err(bad());
            }
            let (negated, name) = match word.strip_prefix('!') {
                Some(name) => (true, name),
                None => (false, word),
            };
            let after_bang = if negated { &rest[1..] } else { rest };
            if more.is_some() && name.is_empty() {
                return Err(parameter(format!("Bad parameter `{after_bang}'")));
            }
            if !negated && after_bang.starts_with("UNREPLIED") {
                status.clear |= 1 << IPS_SEEN_REPLY_BIT;
            } else {
                let mut bits = 0;
                if name.is_empty() || !self.match_word(name, STATUS_WORDS, &mut bits) {
                    return Err(parameter(format!("Bad parameter `{after_bang}'")));
                }
                if negated {
                    status.clear |= bits;
                } else {
                    status.set |= bits;
                }
            }
            match more {
                Some(more) => rest = more,
                None => return Ok(status),
            }
        }
    }

    /// `-e`, `-o`: conntrack's `parse_parameter`, comma-separated prefixes.
    fn parse_words(
        &mut self,
        text: &str,
        words: &[(&str, u32)],
        mask: &mut u32,
    ) -> Result<(), Failure> {
        let mut rest = text;
        loop {
            let (word, more) = match rest.find(',') {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            if word.is_empty() || !self.match_word(word, words, mask) {
                return Err(parameter(format!("Bad parameter `{rest}'")));
            }
            match more {
                Some(more) => rest = more,
                None => return Ok(()),
            }
        }
    }

    /// conntrack's `do_parse_parameter`: `word` is a prefix (in any case) of SRC_NAT or
    /// DST_NAT (ignored with a warning, whatever the option), or of a name of `words`.
    fn match_word(&mut self, word: &str, words: &[(&str, u32)], mask: &mut u32) -> bool {
        let is_prefix =
            |name: &str| word.len() <= name.len() && name[..word.len()].eq_ignore_ascii_case(word);
        for nat in ["SRC_NAT", "DST_NAT"] {
            if is_prefix(nat) {
                self.notes.0.push(format!(
                    "WARNING: ignoring {nat}, use --{}-nat instead",
                    &nat[..3].to_lowercase()
                ));
                return true;
            }
        }
        match words.iter().find(|(name, _)| is_prefix(name)) {
            Some((_, bits)) => {
                *mask |= bits;
                true
            }
            None => false,
        }
    }

    fn proto_option(&mut self, n: u8, text: String) -> Result<(), Failure> {
        let Some(handler) = self.parsed.handler else {
            return Ok(());
        };
        let table = handler.table();
        let Some(&(opt, name)) = table.opts.get(usize::from(n) - 1) else {
            return Ok(());
        };
        self.l4flags |= 1 << (n - 1);
        let values = &mut self.parsed.values;
        let is_gre = handler == Handler::Gre;
        let number = |text: &str| -> Result<u16, Failure> {
            if is_gre {
                return Ok(strtoul(text) as u16);
            }
            parse_port(text)
                .map_err(|err| parameter(format!("Bad parameter `{text}' for --{name}: {err}")))
        };
        match opt {
            L4Opt::Sport => values.sport = Some(number(&text)?),
            L4Opt::Dport => values.dport = Some(number(&text)?),
            L4Opt::ReplySport => values.reply_sport = Some(number(&text)?),
            L4Opt::ReplyDport => values.reply_dport = Some(number(&text)?),
            L4Opt::MaskSport => values.mask_sport = Some(number(&text)?),
            L4Opt::MaskDport => values.mask_dport = Some(number(&text)?),
            L4Opt::TupleSport => values.tuple_sport = Some(number(&text)?),
            L4Opt::TupleDport => values.tuple_dport = Some(number(&text)?),
            L4Opt::State => values.state = Some(state(handler, &text)?),
            L4Opt::OrigVtag => values.orig_vtag = Some(atoi(&text) as u32),
            L4Opt::ReplyVtag => values.reply_vtag = Some(atoi(&text) as u32),
            L4Opt::Role => {
                let is_prefix = |name: &str| {
                    text.len() <= name.len() && name[..text.len()].eq_ignore_ascii_case(&text)
                };
                values.role = Some(if is_prefix("client") {
                    DccpRole::Client
                } else if is_prefix("server") {
                    DccpRole::Server
                } else {
                    return Err(parameter(format!("Unknown DCCP role `{text}'")));
                });
            }
            L4Opt::IcmpType => values.icmp_type = Some(atoi(&text) as u8),
            L4Opt::IcmpCode => values.icmp_code = Some(atoi(&text) as u8),
            L4Opt::IcmpId => values.icmp_id = Some(atoi(&text) as u16),
        }
        Ok(())
    }

    /// After the options: the default family, the NAT conflict, the matrix in bit
    /// order, the address pairs, the protocol's own check.
    fn finish(mut self) -> Result<Parsed, Failure> {
        let command = self.parsed.command;
        if self.family.is_none()
            && !matches!(
                command,
                Some(
                    Command::List
                        | Command::Update
                        | Command::Delete
                        | Command::Get
                        | Command::Flush
                        | Command::Event
                )
            )
        {
            self.family = Some(Family::Ipv4);
        }
        if self.has(bit::ANY_NAT) && (self.has(bit::SRC_NAT) || self.has(bit::DST_NAT)) {
            return Err(parameter(
                "cannot specify `--src-nat' or `--dst-nat' with `--any-nat'",
            ));
        }
        let pairs = [
            (1 << bit::SRC) | (1 << bit::DST),
            (1 << bit::REPLY_SRC) | (1 << bit::REPLY_DST),
        ];
        let row = options::row(command);
        check_matrix(self.parsed.options, &row, &OPTION_NAMES, &pairs).map_err(|misfit| {
            match misfit {
                Misfit::Cell(failure) => failure,
                Misfit::Incomplete(1) => {
                    parameter("you have to specify `--reply-src' and `--reply-dst'")
                }
                Misfit::Incomplete(_) => parameter("you have to specify `--src' and `--dst'"),
            }
        })?;
        if command != Some(Command::Help) {
            if let Some(handler) = self.parsed.handler {
                let table = handler.table();
                if !table.opts.is_empty() {
                    let names: Vec<&str> = table.opts.iter().map(|(_, name)| *name).collect();
                    let row = table.row(command);
                    let (orig, reply) = table.pairs.unwrap_or(("", ""));
                    check_matrix(self.l4flags, &row, &names, &[0b11, 0b1100]).map_err(
                        |misfit| match misfit {
                            Misfit::Cell(failure) => failure,
                            Misfit::Incomplete(1) => parameter(reply),
                            Misfit::Incomplete(_) => parameter(orig),
                        },
                    )?;
                }
            }
        }
        self.parsed.family = self.family;
        Ok(self.parsed)
    }
}

/// conntrack's `generic_opt_check`: each option bit in order, a compulsory one missing
/// or an illegal one given is a failure at once; then, when the row has a "one of the
/// pairs" cell, one pair must be whole, else `Incomplete` names the first partial pair
/// (or the first, when none was begun).
fn check_matrix(given: u32, row: &[u8], names: &[&str], pairs: &[u32]) -> Result<(), Misfit> {
    check_cells(given, row, names).map_err(Misfit::Cell)?;
    if !row.contains(&3) || pairs.iter().any(|&pair| pair & !given == 0) {
        return Ok(());
    }
    let partial = pairs
        .iter()
        .position(|&pair| given & pair != 0)
        .unwrap_or(0);
    Err(Misfit::Incomplete(partial))
}

/// Why a command line does not fit the matrix.
enum Misfit {
    Cell(Failure),
    Incomplete(usize),
}

fn check_cells(given: u32, row: &[u8], names: &[&str]) -> Result<(), Failure> {
    for (i, cell) in row.iter().enumerate().take(names.len().min(OPTIONS)) {
        let set = given & (1 << i) != 0;
        if !set && *cell == 1 {
            return Err(parameter(format!(
                "You need to supply the `--{}' option for this command",
                names[i]
            )));
        }
        if set && *cell == 0 {
            return Err(parameter(format!(
                "Illegal option `--{}' with this command",
                names[i]
            )));
        }
    }
    Ok(())
}

const STATUS_WORDS: &[(&str, u32)] = &[
    ("ASSURED", (1 << IPS_ASSURED_BIT)),
    ("SEEN_REPLY", (1 << IPS_SEEN_REPLY_BIT)),
    ("UNSET", 0),
    ("FIXED_TIMEOUT", (1 << IPS_FIXED_TIMEOUT_BIT)),
    ("EXPECTED", (1 << IPS_EXPECTED_BIT)),
    ("OFFLOAD", (1 << IPS_OFFLOAD_BIT)),
    ("HW_OFFLOAD", (1 << IPS_HW_OFFLOAD_BIT)),
];

const EVENT_WORDS: &[(&str, u32)] = &[
    ("ALL", events::ALL),
    ("NEW", events::NEW),
    ("UPDATES", events::UPDATES),
    ("DESTROY", events::DESTROY),
];

const OUTPUT_WORDS: &[(&str, u32)] = &[
    ("xml", output::XML),
    ("extended", output::EXTENDED),
    ("timestamp", output::TIMESTAMP),
    ("id", output::ID),
    ("ktimestamp", output::KTIMESTAMP),
    ("labels", output::LABELS),
    ("userspace", 0),
    ("save", output::SAVE),
];

/// A protocol's `--state` word, compared exactly, as conntrack does.
fn state(handler: Handler, text: &str) -> Result<u8, Failure> {
    // conntrack 1.4.7's SCTP option knows the first eight, up to SHUTDOWN_ACK_SENT.
    const TCP: &[&str] = &TCP_CONNTRACK_NAMES;
    const SCTP: &[&str] = SCTP_CONNTRACK_NAMES.split_at(8).0;
    const DCCP: &[&str] = &DCCP_CONNTRACK_NAMES;
    let (names, message) = match handler {
        Handler::Tcp if text == "LISTEN" => return Ok(9),
        Handler::Tcp => (TCP, "unknown TCP state"),
        Handler::Sctp => (SCTP, "unknown SCTP state"),
        _ => (DCCP, "Unknown DCCP state"),
    };
    names
        .iter()
        .position(|name| *name == text)
        .map(|at| at as u8)
        .ok_or_else(|| parameter(format!("{message} `{text}'")))
}

/// conntrack's `findproto`: a handler by name (any case), a name from /etc/protocols,
/// or a number up to 255.
pub fn find_protocol(name: &str) -> Option<(u8, Handler)> {
    for protonum in [6u8, 17, 136, 132, 33, 1, 58, 47] {
        let handler = Handler::of(protonum);
        if handler.name().is_some_and(|n| n.eq_ignore_ascii_case(name)) {
            return Some((protonum, handler));
        }
    }
    // A name only /etc/protocols knows gets conntrack's handler for unknown protocols,
    // even for a number with a handler of its own (`ipv6-icmp` takes no --icmpv6-type).
    if let Some(protonum) = protocol_by_name(name) {
        return Some((protonum, Handler::Unknown));
    }
    let (number, rest) = strtoul_rest(name);
    if rest.len() == name.len() || !rest.is_empty() || number > 255 {
        return None;
    }
    Some((number as u8, Handler::of(number as u8)))
}

/// What `-h -p PROTO` prints after the usage: ``Proto `NAME' help:`` and the
/// protocol's options, as conntrack's `extension_help` does. A protocol without a
/// handler is named as /etc/protocols names its number, else `unknown`.
pub fn protocol_help(protonum: u8, handler: Handler) -> String {
    let name = match handler.name() {
        Some(name) => name.to_string(),
        None => protocol_by_number(protonum).unwrap_or_else(|| "unknown".to_string()),
    };
    let help = handler.table().help;
    let mut text = format!("Proto `{name}' help:\n");
    if help.is_empty() {
        text.push_str("  no options (unsupported)\n");
    }
    help.iter().for_each(|part| text.push_str(part));
    text
}

/// getprotobynumber(3): a protocol's name in /etc/protocols.
fn protocol_by_number(protonum: u8) -> Option<String> {
    // SAFETY: getprotobynumber returns a pointer into static storage or NULL; the name
    // is copied at once, before any other call.
    let entry = unsafe { libc::getprotobynumber(libc::c_int::from(protonum)) };
    if entry.is_null() {
        return None;
    }
    // SAFETY: not null, as checked; p_name is a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr((*entry).p_name) };
    Some(name.to_string_lossy().into_owned())
}

/// getprotobyname(3): /etc/protocols, as conntrack looks a name up.
fn protocol_by_name(name: &str) -> Option<u8> {
    let name = CString::new(name).ok()?;
    // SAFETY: getprotobyname reads a NUL-terminated string and returns a pointer into
    // static storage or NULL; p_proto is read at once, before any other call.
    let entry = unsafe { libc::getprotobyname(name.as_ptr()) };
    if entry.is_null() {
        return None;
    }
    // SAFETY: not null, as checked.
    u8::try_from(unsafe { (*entry).p_proto }).ok()
}

/// An address's CIDR suffix, as conntrack's `parse_addr` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    None,
    Len(u8),
    Invalid,
}

/// inet_aton (IPv4 in any of its forms) or inet_pton (IPv6), with an optional
/// `/LEN`; None when it is neither.
fn parse_addr(text: &str) -> Option<(IpAddr, Prefix)> {
    let (addr_text, prefix) = match text.split_once('/') {
        Some((addr, len)) => {
            let prefix = match strtol_whole(len) {
                Some(n) if n >= 0 => Prefix::Len(u8::try_from(n).unwrap_or(u8::MAX)),
                _ => Prefix::Invalid,
            };
            (addr, prefix)
        }
        None => (text, Prefix::None),
    };
    let addr = match inet_aton(addr_text) {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(addr_text.parse::<Ipv6Addr>().ok()?),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Prefix::Len(len) if len > max => Prefix::Invalid,
        other => other,
    };
    Some((addr, prefix))
}

/// strtol(3) in base 10 that must read all of `text`, as conntrack reads a CIDR
/// suffix: blanks, a sign, digits; nothing at all reads as 0.
fn strtol_whole(text: &str) -> Option<i64> {
    if text.is_empty() {
        return Some(0);
    }
    let trimmed = text.trim_start_matches([' ', '\t', '\n']);
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.bytes().fold(0i64, |n, b| {
        n.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Some(if negative { -value } else { value })
}

/// inet_aton(3): `a.b.c.d`, `a.b.c`, `a.b`, `a`, each part decimal, octal or hex.
fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(4);
    for part in &parts {
        let (number, rest) = strtoul_rest(part);
        if part.is_empty() || !rest.is_empty() || part.starts_with(['+', '-', ' ']) {
            return None;
        }
        numbers.push(number);
    }
    let last = *numbers.last()?;
    let head = &numbers[..numbers.len() - 1];
    if head.iter().any(|&n| n > 255) {
        return None;
    }
    let room = 32 - 8 * head.len() as u32;
    if room < 32 && last >> room != 0 {
        return None;
    }
    if room == 32 && last > u64::from(u32::MAX) {
        return None;
    }
    let mut value: u32 = 0;
    for (i, &n) in head.iter().enumerate() {
        value |= (n as u32) << (24 - 8 * i as u32);
    }
    value |= last as u32;
    Some(Ipv4Addr::from(value))
}

fn prefix_mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(_) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            IpAddr::V4(mask.into())
        }
        IpAddr::V6(_) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            IpAddr::V6(mask.into())
        }
    }
}

/// `ADDR[:PORT]` or `[V6]:PORT` of `-n`/`-g`/`-j` (conntrack's
/// `split_address_and_port`, with its messages).
fn split_address_and_port(text: &str) -> Result<(String, Option<u16>), Failure> {
    let (address, port) = if let Some(open) = text.find('[') {
        let start = &text[open + 1..];
        let Some(close) = start.find(']') else {
            return Err(parameter("No closing ']' around IPv6 address"));
        };
        if close == 0 {
            return Err(parameter("No IPv6 address specified"));
        }
        match start[close..].find(':') {
            Some(colon) => (
                start[..close].to_string(),
                Some(&start[close + colon + 1..]),
            ),
            None => (text.to_string(), None),
        }
    } else {
        match text.find(':') {
            Some(colon) if !text[colon + 1..].contains(':') => {
                (text[..colon].to_string(), Some(&text[colon + 1..]))
            }
            _ => (text.to_string(), None),
        }
    };
    let port = match port {
        None => None,
        Some("") => return Err(parameter("No port specified after `:'")),
        Some(port) => {
            let valid = port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|n| n <= 65535);
            if !valid {
                return Err(parameter(format!("Invalid port `{port}'")));
            }
            port.parse::<u16>().ok()
        }
    };
    Ok((address, port))
}

/// strtoul(3) with base 0: leading blanks, a sign, `0x` hex, `0` octal, else decimal,
/// up to the first character that is not a digit; with the rest of the text.
fn strtoul_rest(text: &str) -> (u64, &str) {
    let trimmed = text.trim_start_matches([' ', '\t', '\n']);
    let (negative, body) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let (radix, digits) = if body.len() > 2
        && (body.starts_with("0x") || body.starts_with("0X"))
        && body.as_bytes()[2].is_ascii_hexdigit()
    {
        (16, &body[2..])
    } else if body.starts_with('0') {
        (8, body)
    } else {
        (10, body)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        return (0, text);
    }
    let mut value: u64 = 0;
    for c in digits[..end].chars() {
        value = value
            .wrapping_mul(u64::from(radix))
            .wrapping_add(u64::from(c.to_digit(radix).unwrap_or(0)));
    }
    if negative {
        value = value.wrapping_neg();
    }
    (value, &digits[end..])
}

pub fn strtoul(text: &str) -> u64 {
    strtoul_rest(text).0
}

/// atol(3)/atoi(3): decimal only, leading blanks and a sign, up to the first
/// non-digit; 0 when there is no number.
pub fn atol(text: &str) -> i64 {
    let trimmed = text.trim_start_matches([' ', '\t', '\n']);
    let (negative, body) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let mut value: i64 = 0;
    for b in body.bytes().take_while(u8::is_ascii_digit) {
        value = value.wrapping_mul(10).wrapping_add(i64::from(b - b'0'));
    }
    if negative {
        value.wrapping_neg()
    } else {
        value
    }
}

fn atoi(text: &str) -> i32 {
    atol(text) as i32
}
