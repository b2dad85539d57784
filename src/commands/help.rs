//! `ct completions` and `ct man`: the shell completion scripts and manual pages,
//! generated from the command line's own definition so they never drift from it.
//!
//! clap_complete writes static scripts: they offer every flag and the values a flag
//! lists (formats, columns, protocols, states, status flags). Two things it cannot do
//! are added to its output here: namespace names for `--netns`, which exist only when
//! the user presses tab (the scripts list /run/netns then), and the next item of a
//! comma list (`-o extended,<tab>`) in bash.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{CommandFactory, ValueEnum};
use clap_complete::Shell;

use crate::cli::{Cli, ManPage};

/// Where `ip netns add` keeps named namespaces, which `--netns` completes.
const NAMED_NETNS_DIR: &str = "/run/netns";

/// The flags whose value is a comma-separated list.
const LIST_FLAGS: [&str; 10] = [
    "-o",
    "--output",
    "--columns",
    "-p",
    "--proto",
    "--protonum",
    "--state",
    "-u",
    "--status",
    "-l",
];

/// `ct completions SHELL`.
pub fn completions(shell: Shell) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ct", &mut script);
    let script =
        String::from_utf8(script).context("clap_complete wrote a script that is not UTF-8")?;
    let script = match shell {
        Shell::Bash => bash(&script),
        Shell::Zsh => script.replace(
            ":NAME|PATH|PID:_default",
            &format!(":NAME|PATH|PID:_files -W {NAMED_NETNS_DIR}"),
        ),
        Shell::Fish => fish(&script),
        _ => script,
    };
    let mut out = super::stdout();
    out.write_all(script.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// bash: `--netns` offers the named namespaces; a list flag completes the item after the
/// last comma, keeping the ones before it.
fn bash(script: &str) -> String {
    let mut out = String::from(BASH_HELPERS);
    let mut flags_of_case: Vec<&str> = Vec::new();
    for line in script.lines() {
        let trimmed = line.trim();
        if trimmed.ends_with(')') && trimmed.starts_with('-') && !trimmed.contains(' ') {
            flags_of_case = trimmed.trim_end_matches(')').split('|').collect();
        }
        let replaced = if !trimmed.starts_with("COMPREPLY=") {
            None
        } else if flags_of_case.contains(&"--netns") {
            Some(line.replace(trimmed, "__ct_netns"))
        } else if flags_of_case.iter().any(|flag| LIST_FLAGS.contains(flag)) {
            trimmed
                .strip_prefix("COMPREPLY=($(compgen -W \"")
                .and_then(|rest| rest.strip_suffix("\" -- \"${cur}\"))"))
                .map(|words| line.replace(trimmed, &format!("__ct_list \"{words}\"")))
        } else {
            None
        };
        out.push_str(replaced.as_deref().unwrap_or(line));
        out.push('\n');
        if trimmed == ";;" {
            flags_of_case.clear();
        }
    }
    out
}

const BASH_HELPERS: &str = r#"# Namespace names for --netns, as they are when tab is pressed.
__ct_netns() {
    COMPREPLY=($(compgen -W "$(ls /run/netns 2>/dev/null)" -- "${cur}"))
}
# The item after the last comma of a list flag's value, keeping the items before it.
__ct_list() {
    local prefix=""
    [[ "${cur}" == *,* ]] && prefix="${cur%,*},"
    COMPREPLY=($(compgen -P "${prefix}" -W "$1" -- "${cur##*,}"))
}
"#;

/// fish: `--netns` offers the named namespaces.
fn fish(script: &str) -> String {
    script
        .lines()
        .map(|line| {
            if line.contains(" -l netns ") {
                format!("{line} -f -a '(ls {NAMED_NETNS_DIR} 2>/dev/null)'\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

/// `ct man --list`: every value `ct man` takes, one a line, from the same enum clap
/// parses, so a loop over it (the Debian package's build, the README's install) cannot
/// miss a page.
pub fn man_list() -> Result<()> {
    let mut out = super::stdout();
    for value in ManPage::value_variants()
        .iter()
        .filter_map(ValueEnum::to_possible_value)
    {
        writeln!(out, "{}", value.get_name())?;
    }
    out.flush()?;
    Ok(())
}

/// `ct man [COMMAND]`: ct(1), or the page of one command, such as ct-list(1).
pub fn man(page: Option<ManPage>) -> Result<()> {
    if page == Some(ManPage::Conntrack) {
        let mut out = super::stdout();
        out.write_all(conntrack_page().as_bytes())?;
        out.flush()?;
        return Ok(());
    }
    let mut ct = Cli::command();
    ct.build();
    let command = match page {
        None => ct,
        Some(page) => ct
            .find_subcommand(page.command())
            .cloned()
            .with_context(|| format!("ct has no {} command", page.command()))?
            .name(page.page_name()),
    };
    let mut out = super::stdout();
    clap_mangen::Man::new(command).render(&mut out)?;
    out.write_all(extra_sections(page).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The sections clap_mangen does not write: exit status, examples, files, how ct
/// differs from conntrack, and what to read next. Roff, appended after its page.
fn extra_sections(page: Option<ManPage>) -> String {
    let mut roff = String::from(EXIT_STATUS);
    let examples: &[(&str, &str)] = match page {
        None | Some(ManPage::List) => &[
            (
                "ct list -p tcp --state ESTABLISHED --dport 443",
                "established HTTPS connections",
            ),
            (
                "ct list -s 10.0.0.0/8 -u UNREPLIED",
                "unanswered attempts from 10/8",
            ),
            ("ct list -o json | jq -r .reply.dst", "JSON Lines for jq"),
            (
                "ct list expect --netns blue",
                "the expectations of namespace blue",
            ),
        ],
        Some(ManPage::Count) => &[
            ("ct count", "the kernel's count of entries"),
            (
                "ct count -p udp --dport 53 -u UNREPLIED",
                "DNS queries nobody answered",
            ),
            ("ct count expect", "expectations of both families"),
        ],
        Some(ManPage::Create) => &[
            (
                "ct create -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 40000 --dport 443 --state ESTABLISHED -t 300",
                "an established TCP connection, for five minutes",
            ),
            (
                "ct create -p udp -s 10.0.0.1 -d 192.0.2.1 --sport 5000 --dport 53 --src-nat 198.51.100.1 -t 30",
                "a masqueraded DNS query",
            ),
            (
                "ct create --exist-ok -p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 1 -t 30",
                "a ping, unless it is there already (conntrack -A)",
            ),
        ],
        Some(ManPage::Restore) => &[
            (
                "ct list -o save > table.save; ct restore --netns blue table.save",
                "copy a table into namespace blue",
            ),
            (
                "conntrack -L -o save | ct restore -",
                "conntrack's saved lines, from standard input",
            ),
        ],
        Some(ManPage::Stats) => &[
            ("ct stats", "conntrack -S's per-CPU lines"),
            ("ct stats -o table", "how full the table is, and the totals"),
            (
                "ct stats -o json | jq .totals.insert_failed",
                "one counter for a script",
            ),
        ],
        Some(ManPage::Get) => &[
            (
                "ct get -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 40000 --dport 443",
                "by the original tuple",
            ),
            (
                "ct get -p udp -r 10.0.0.53 -q 10.0.0.1 --reply-port-src 53 --reply-port-dst 5353",
                "by the reply tuple",
            ),
            (
                "ct get -p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 7 -w 3",
                "an echo request in zone 3",
            ),
            (
                "ct get -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 0x10 --dstkey 0x20",
                "a PPTP call's GRE entry, by its keys as ct prints them",
            ),
            (
                "ct get expect -p tcp -s 192.0.2.10 -d 10.0.0.1 --sport 0 --dport 50001",
                "the ftp expectation a data connection to port 50001 would match",
            ),
        ],
        Some(ManPage::Delete) => &[
            (
                "ct delete -p udp -d 10.0.0.7 --dport 53",
                "stale DNS entries to a moved backend",
            ),
            (
                "ct delete -m 0x10/0xf0 --dry-run",
                "what a mark would delete",
            ),
            ("ct delete expect --helper sip", "SIP expectations"),
        ],
        Some(ManPage::Update) => &[
            (
                "ct update -p tcp --dport 443 --set-mark 0x20/0xf0",
                "mark HTTPS flows in bits 4 to 7, keeping the others",
            ),
            (
                "ct update -s 10.0.0.9 --add-label blocked --dry-run",
                "what a label would be added to",
            ),
            (
                "ct update -m 7 --set-timeout 30",
                "let marked flows expire in 30 seconds",
            ),
        ],
        Some(ManPage::Flush) => &[
            ("ct flush", "the whole table"),
            ("ct flush -f ipv6", "IPv6 entries only"),
            ("ct flush expect", "every expectation"),
        ],
        Some(ManPage::Watch) => &[
            ("ct watch", "every event, as conntrack -E prints it"),
            (
                "ct watch -e DESTROY -o json",
                "a flow log: final counters of each connection",
            ),
            (
                "ct watch -p udp --dport 53 --count 10",
                "the next ten DNS flows' events",
            ),
            ("ct watch expect", "expectations as helpers make them"),
        ],
        Some(ManPage::Top) => &[
            ("ct top", "who fills the table, live, by source"),
            (
                "ct top --by src/24,dport -p tcp --once",
                "the busiest client networks and ports, once",
            ),
            (
                "ct top --by proto,state -o json | jq .",
                "the table's make-up for a script",
            ),
        ],
        Some(ManPage::Exporter) => &[
            ("ct exporter", "serve /metrics on 127.0.0.1:9447"),
            (
                "ct exporter --all-netns --listen 0.0.0.0:9447",
                "every namespace of the host, for a node's Prometheus",
            ),
            (
                "curl -s localhost:9447/metrics | grep conntrack_entries",
                "how full the table is",
            ),
        ],
        Some(ManPage::Completions) => &[
            ("ct completions bash > /etc/bash_completion.d/ct", "bash"),
            (
                "ct completions fish > ~/.config/fish/completions/ct.fish",
                "fish",
            ),
        ],
        Some(ManPage::Man) => &[(
            "ct man list > /usr/local/share/man/man1/ct-list.1",
            "install ct-list(1)",
        )],
        // Its own page, written by conntrack_page.
        Some(ManPage::Conntrack) => &[],
    };
    roff.push_str(".SH EXAMPLES\n");
    for (command, what) in examples {
        let escape = |text: &str| text.replace('-', "\\-");
        roff.push_str(&format!(".TP\n.B {}\n{}\n", escape(command), escape(what)));
    }
    roff.push_str(FILES);
    roff.push_str(DIFFERENCES);
    roff.push_str(SEE_ALSO);
    roff
}

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
.B 0
success; also when the reader of standard output went away (ct list | head)
.TP
.B 1
a runtime error (the kernel refused, no such entry, standard output full), said on standard error
.TP
.B 2
a bad command line: a bad value, or flags that do not fit together; nothing is printed on standard output
"#;

const FILES: &str = r#".SH FILES
.TP
.I /etc/xtables/connlabel.conf
connlabel names, read as conntrack reads them
.TP
.I /run/netns
the named network namespaces \-\-netns takes
.TP
.I /proc/net/stat/nf_conntrack
the statistics ct stats reads where netlink refuses
.TP
.I /proc/sys/net/netfilter/nf_conntrack_count
the count ct count reads where netlink refuses
.TP
.I /proc/net/nf_conntrack_expect
the expectations ct count expect and ct stats expect count where netlink refuses (root only)
"#;

const DIFFERENCES: &str = r#".SH "DIFFERENCES FROM CONNTRACK"
Where ct does what conntrack does, it prints the same bytes. On purpose it differs where
conntrack 1.4.7 is wrong or limited: values are checked (conntrack reads \-\-sport http as
port 0); GRE keys (\-\-srckey, \-\-dstkey, \-\-reply\-key\-src, \-\-reply\-key\-dst) filter, where
conntrack 1.4.7 ignores them in \-L, \-D and \-E (its \-D by a GRE tuple deletes every GRE
entry between the two addresses); \-u mixing set and cleared flags works; IPv6 NAT addresses are compared; \-g does
not take every masqueraded ping for destination NAT; list expect and count expect show
both families (conntrack: IPv4 unless \-f ipv6); count takes filters; get looks up by the
reply tuple and by zone; SCTP and DCCP states are named right in XML; watch takes every
filter of list (conntrack \-E refuses \-u), honours \-e for expectation events, uses the
kernel's event time for \-o timestamp and keeps [USERSPACE] out of XML. docs/differences.md
in ct's source lists every difference, with its reason.
"#;

const SEE_ALSO: &str = r#".SH "SEE ALSO"
.BR conntrack (8),
.BR ct (1),
.BR ct\-list (1),
.BR ct\-count (1),
.BR ct\-stats (1),
.BR ct\-get (1),
.BR ip\-netns (8)
"#;

/// docs/differences.md, whose last section lists where the conntrack mode differs; the
/// manual page is made from it, so each fact is written once.
const DIFFERENCES_MD: &str = include_str!("../../docs/differences.md");

/// The heading of that section.
const CONNTRACK_MODE_HEADING: &str = "## ct run as `conntrack` (the conntrack mode)";

/// ct-conntrack(8): ct run as `conntrack`.
fn conntrack_page() -> String {
    let mut roff = String::from(
        r#".TH ct-conntrack 8 "" "ct" "System Administration"
.SH NAME
ct\-conntrack \- ct run as conntrack: conntrack 1.4.7's command line
.SH SYNOPSIS
.B conntrack
[commands] [options]
.SH DESCRIPTION
When ct is started under the name
.B conntrack
(a symbolic link to ct, such as /usr/local/sbin/conntrack; never over the
distribution's conntrack), it reads conntrack 1.4.7's command line: the commands
\-L \-G \-D \-I \-A \-U \-E \-F \-C \-S \-V \-h and \-R, the option table with its
abbreviations, the options each protocol adds after \-p, the checks of which options
each command takes, in conntrack's order and with its messages. \-L, \-G, \-D, \-F,
\-C, \-S and \-E (and the expect, dying and unconfirmed tables) run as ct's list, get,
delete, flush, count, stats and watch do, \-I and \-A as ct create, \-U as ct update,
\-R as ct restore of conntrack's command lines, printing conntrack's lines and summaries.
.SH "EXIT STATUS"
.TP
.B 0
success; \-L and \-A also when nothing was shown or added
.TP
.B 1
a runtime error, or a \-D, \-G, \-U or \-I that found or changed nothing (not
within a \-R file, whose lines print no summaries)
.TP
.B 2
a bad command line (a parameter problem): the message is followed by conntrack's
"Try `conntrack \-h'" line
.SH "DIFFERENCES FROM CONNTRACK"
"#,
    );
    let section = DIFFERENCES_MD
        .split_once(CONNTRACK_MODE_HEADING)
        .map_or("", |(_, rest)| rest);
    let section = section.split("\n## ").next().unwrap_or("");
    for paragraph in markdown_paragraphs(section) {
        if let Some(item) = paragraph.strip_prefix("- ") {
            roff.push_str(".IP \\(bu 2\n");
            roff.push_str(&roff_text(item));
        } else {
            roff.push_str(".PP\n");
            roff.push_str(&roff_text(&paragraph));
        }
        roff.push('\n');
    }
    roff.push_str(
        r#".SH "SEE ALSO"
.BR conntrack (8),
.BR ct (1),
.BR ct\-list (1),
.BR ct\-delete (1)
"#,
    );
    roff
}

/// The paragraphs and list items of a piece of Markdown, each on one line.
fn markdown_paragraphs(markdown: &str) -> Vec<String> {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        let starts_item = trimmed.starts_with("- ");
        if (trimmed.is_empty() || starts_item) && !current.is_empty() {
            paragraphs.push(std::mem::take(&mut current));
        }
        if !trimmed.is_empty() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(trimmed);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

/// Markdown text as roff: emphasis and code marks dropped (a span between double
/// backticks kept as it is, single backticks within it included), dashes and
/// backslashes escaped, no line starting with a control character.
fn roff_text(text: &str) -> String {
    let plain: String = text
        .replace("**", "")
        .split("``")
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                part.to_string()
            } else {
                part.replace('`', "")
            }
        })
        .collect();
    let escaped = plain.replace('\\', "\\e").replace('-', "\\-");
    match escaped.chars().next() {
        Some('.' | '\'') => format!("\\&{escaped}"),
        _ => escaped,
    }
}
