//! The conntrack mode's parser against conntrack 1.4.7's messages and exit codes
//! (/work/notes/explore21.md, table 1.3; each case was run with the real conntrack).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::getopt::{Found, Getopt, HasArg, LongOpt};
use super::options::{Command, Handler};
use super::parse::{self, Labels, Notes, Parsed, output};
use super::restore::{parse_file, split_line, text_of};
use super::{BANNER, Failure, TRY, Table};
use crate::filter::{AddrMatch, MarkMatch, NatMatch, StatusMatch};
use crate::model::entry::Family;

const NO_LABELS: &str = "/nonexistent/connlabel.conf";

fn argv(line: &str) -> Vec<String> {
    std::iter::once("conntrack")
        .chain(line.split_whitespace())
        .map(str::to_string)
        .collect()
}

fn parse_with(line: &str, labels: &Path) -> (Result<Parsed, Failure>, Vec<String>) {
    let mut labels = Labels::new(labels);
    let mut notes = Notes::default();
    let parsed = parse::parse(&argv(line), &mut labels, &mut notes, None);
    (parsed, notes.0)
}

fn parsed(line: &str) -> Parsed {
    match parse_with(line, Path::new(NO_LABELS)).0 {
        Ok(parsed) => parsed,
        Err(failure) => panic!("{line}: {}", failure.text()),
    }
}

/// What conntrack writes on stderr for `line`, and its exit status.
fn refused(line: &str) -> (String, u8) {
    match parse_with(line, Path::new(NO_LABELS)).0 {
        Ok(parsed) => panic!("{line} parsed: {parsed:?}"),
        Err(failure) => (failure.text(), failure.exit_code()),
    }
}

fn parameter_problem(message: &str) -> (String, u8) {
    (format!("{BANNER}{message}\n{TRY}\n"), 2)
}

fn other_problem(message: &str) -> (String, u8) {
    (format!("{BANNER}{message}\n"), 1)
}

#[test]
fn banner_names_ct_where_conntrack_names_conntrack_tools() {
    assert_eq!(
        BANNER,
        format!("conntrack v1.4.7 (ct {}): ", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        TRY,
        "Try `conntrack -h' or 'conntrack --help' for more information."
    );
}

#[test]
fn every_message_of_table_1_3() {
    let cases: &[(&str, (String, u8))] = &[
        ("-L --bogus", parameter_problem("unknown option `--bogus'")),
        ("-L --s 1.1.1.1", parameter_problem("unknown option `--s'")),
        (
            "-L --sr 1.1.1.1",
            parameter_problem("unknown option `--sr'"),
        ),
        ("-L --z 1", parameter_problem("unknown option `--z'")),
        ("-L --orig 1", parameter_problem("unknown option `--orig'")),
        ("-L --zer=1", parameter_problem("unknown option `--zer=1'")),
        ("-R", parameter_problem("unknown option `-R'")),
        ("-L -R x", parameter_problem("unknown option `-R'")),
        (
            "-L -s",
            parameter_problem("option `-s' requires an argument"),
        ),
        (
            "-L --src",
            parameter_problem("option `--src' requires an argument"),
        ),
        ("-L -D", parameter_problem("Invalid commands combination")),
        (
            "-L -t 10",
            parameter_problem("Illegal option `--timeout' with this command"),
        ),
        (
            "-C -f ipv4",
            parameter_problem("Illegal option `--family' with this command"),
        ),
        (
            "-L -b 1",
            parameter_problem("Illegal option `--buffer-size' with this command"),
        ),
        (
            "-s 1.1.1.1",
            parameter_problem("Illegal option `--src' with this command"),
        ),
        (
            "-I -s 1.1.1.1 -d 2.2.2.2",
            parameter_problem("You need to supply the `--protonum' option for this command"),
        ),
        (
            "-I -s 1.1.1.1 -p tcp -t 1",
            parameter_problem("you have to specify `--src' and `--dst'"),
        ),
        (
            "-I -r 1.1.1.1 -p tcp -t 1",
            parameter_problem("you have to specify `--reply-src' and `--reply-dst'"),
        ),
        (
            "-I -s 1.1.1.1 -d 2.2.2.2 -p tcp -t 1 --state ESTABLISHED --sport 1",
            parameter_problem("you have to specify `--sport' and `--dport'"),
        ),
        (
            "-I -s 1.1.1.1 -d 2.2.2.2 -p tcp -t 1 --state LISTEN --reply-port-src 1",
            parameter_problem("you have to specify `--reply-src-port' and `--reply-dst-port'"),
        ),
        (
            "-D expect -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2",
            parameter_problem("You need to supply the `--reply-port-src' option for this command"),
        ),
        ("-L -u ass,bad", parameter_problem("Bad parameter `bad'")),
        ("-L -u ,", parameter_problem("Bad parameter `,'")),
        (
            "-L -o xml,nope,id",
            parameter_problem("Bad parameter `nope,id'"),
        ),
        ("-E -e NEW,", parameter_problem("Bad parameter `'")),
        ("-L -p foo", parameter_problem("`foo' unsupported protocol")),
        ("-L -p 256", parameter_problem("`256' unsupported protocol")),
        ("-L -p -10", parameter_problem("`-10' unsupported protocol")),
        (
            "-L -f ipv5",
            parameter_problem("`ipv5' unsupported protocol"),
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(&refused(line), expected, "{line}");
    }
    let more: &[(&str, (String, u8))] = &[
        (
            "-L -s 1.1.1.x",
            parameter_problem("Invalid IP address `1.1.1.x'"),
        ),
        ("-L -s 1.1.1.1/33", parameter_problem("Invalid netmask")),
        ("-L -s ::1/129", parameter_problem("Invalid netmask")),
        ("-L -s 1.1.1.1/x", parameter_problem("Invalid netmask")),
        (
            "-L -r 1.1.1.1/24",
            parameter_problem("CIDR notation unavailable for `--reply-src'"),
        ),
        (
            "-L -s 1.1.1.1 -d ::1",
            parameter_problem("mismatched address family"),
        ),
        (
            "-L -f ipv6 -s 1.1.1.1",
            parameter_problem("mismatched address family"),
        ),
        (
            "-L -n 1.1.1.1:",
            parameter_problem("No port specified after `:'"),
        ),
        ("-L -n 1.1.1.1:x", parameter_problem("Invalid port `x'")),
        (
            "-L -n 1.1.1.1:70000",
            parameter_problem("Invalid port `70000'"),
        ),
        (
            "-L -g [::1:80",
            parameter_problem("No closing ']' around IPv6 address"),
        ),
        (
            "-L -g []:80",
            parameter_problem("No IPv6 address specified"),
        ),
        (
            "-L -j -n",
            parameter_problem("cannot specify `--src-nat' or `--dst-nat' with `--any-nat'"),
        ),
        ("-L xyz", parameter_problem("unknown type `xyz'")),
        ("-L -x", parameter_problem("unknown option `-x'")),
        ("-Lx", (String::new(), 0)),
        (
            "-D dying",
            parameter_problem("Can't do that command with tables `dying' and `unconfirmed'"),
        ),
        (
            "-U expect",
            parameter_problem("Can't do --update on expectations"),
        ),
        (
            "-A expect",
            parameter_problem("Can't do --add on expectations"),
        ),
        (
            "-L -o save,id",
            other_problem(
                "cannot combine save output with any other output type, use -o save only",
            ),
        ),
        (
            "-I -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2 --state FOO -t 1",
            parameter_problem("unknown TCP state `FOO'"),
        ),
        (
            "-I -s 1.1.1.1 -d 2.2.2.2 -p sctp --sport 1 --dport 2 --state open -t 1",
            parameter_problem("unknown SCTP state `open'"),
        ),
        (
            "-I -s 1.1.1.1 -d 2.2.2.2 -p dccp --sport 1 --dport 2 --state x --role client -t 1",
            parameter_problem("Unknown DCCP state `x'"),
        ),
        (
            "-L -p dccp --role x",
            parameter_problem("Unknown DCCP role `x'"),
        ),
        ("-L -l foo", parameter_problem("unknown label 'foo'")),
        // A prefix on -s/-d is conntrack's --mask-src/--mask-dst, which -G and -I refuse.
        (
            "-G -s 10.9.0.0/24 -d 1.1.1.1 -p tcp --sport 1 --dport 2",
            parameter_problem("Illegal option `--mask-src' with this command"),
        ),
        (
            "-I -s 10.9.0.1 -d 1.1.1.0/24 -p tcp --sport 1 --dport 2 -t 1 --state LISTEN",
            parameter_problem("Illegal option `--mask-dst' with this command"),
        ),
        ("-L -s 10.9.0.0/24 -d 1.1.1.0/24", (String::new(), 0)),
    ];
    for (line, expected) in more {
        if expected.1 == 0 {
            assert!(parse_with(line, Path::new(NO_LABELS)).0.is_ok(), "{line}");
            continue;
        }
        assert_eq!(&refused(line), expected, "{line}");
    }
}

#[test]
fn checks_run_in_bit_order_whatever_the_word_order() {
    // --mark (bit 14) comes after --timeout (bit 5): -L refuses -t first.
    assert_eq!(
        refused("-L -m 1 -t 5"),
        parameter_problem("Illegal option `--timeout' with this command")
    );
    assert_eq!(
        refused("-L -e NEW -t 5"),
        parameter_problem("Illegal option `--timeout' with this command")
    );
    // Errors met while reading the words come in the order of the words.
    assert_eq!(
        refused("-L -p foo --bogus"),
        parameter_problem("`foo' unsupported protocol")
    );
    assert_eq!(
        refused("-L --bogus -p foo"),
        parameter_problem("unknown option `--bogus'")
    );
}

#[test]
fn protocol_options_exist_only_after_p() {
    assert_eq!(
        refused("-L --sport 10 -p tcp"),
        parameter_problem("unknown option `--sport'")
    );
    let p = parsed("-L -p tcp --sport 10 --spo 11 --dport=12");
    assert_eq!((p.values.sport, p.values.dport), (Some(11), Some(12)));
    assert_eq!(p.protonum, Some(6));
    assert_eq!(p.handler, Some(Handler::Tcp));
    let gre = parsed("-L -p gre --srckey 0x11 --dstkey 32");
    assert_eq!((gre.values.sport, gre.values.dport), (Some(0x11), Some(32)));
    let icmp = parsed("-L -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 77");
    assert_eq!(
        (
            icmp.values.icmp_type,
            icmp.values.icmp_code,
            icmp.values.icmp_id
        ),
        (Some(8), Some(0), Some(77))
    );
    // --sport is no icmp option.
    assert_eq!(
        refused("-L -p icmp --sport 1"),
        parameter_problem("unknown option `--sport'")
    );
    // A protocol from /etc/protocols or by number: no options of its own.
    assert_eq!(parsed("-L -p 2").protonum, Some(2));
    assert_eq!(parsed("-L -p 200").handler, Some(Handler::Unknown));
    assert_eq!(parsed("-L -p TCP").protonum, Some(6));
    assert_eq!(parsed("-L -p 0x11").protonum, Some(17));
    // A name only /etc/protocols knows gets no handler's options, even for a number
    // that has a handler (conntrack: `unknown option `--icmpv6-type'`). Without the
    // file (no netbase) there is no such name.
    if !Path::new("/etc/protocols").exists() {
        return;
    }
    let named = parsed("-L -p ipv6-icmp");
    assert_eq!(
        (named.protonum, named.handler),
        (Some(58), Some(Handler::Unknown))
    );
    assert_eq!(
        refused("-L -p ipv6-icmp --icmpv6-type 128"),
        parameter_problem("unknown option `--icmpv6-type'")
    );
}

/// `-h -p PROTO`'s part after the usage, as conntrack 1.4.7 prints it.
#[test]
fn protocol_help_as_conntrack_prints_it() {
    let help = |line: &str| {
        let p = parsed(line);
        parse::protocol_help(p.protonum.unwrap(), p.handler.unwrap())
    };
    assert_eq!(
        help("-h -p icmp"),
        "Proto `icmp' help:\n  --icmp-type\t\t\ticmp type\n  --icmp-code\t\t\ticmp code\n  \
         --icmp-id\t\t\ticmp id\n"
    );
    assert!(help("-h -p tcp").ends_with(
        "  --tuple-port-src\t\texpectation tuple dst port\n  --state\t\t\tTCP state, fe. \
         ESTABLISHED\n"
    ));
    assert_eq!(
        help("-h -p 200"),
        "Proto `unknown' help:\n  no options (unsupported)\n"
    );
}

#[test]
fn long_options_by_unique_prefix() {
    assert_eq!(parsed("--vers").command, Some(Command::Version));
    assert_eq!(parsed("--dum").command, Some(Command::List));
    assert_eq!(parsed("--del -s 1.1.1.1").command, Some(Command::Delete));
    assert_eq!(parsed("-L --zo 7").values.zone, Some(7));
    // --src and --orig-src mean the same; --orig-s is orig-src by prefix.
    let p = parsed("-L --orig-s 1.2.3.4");
    assert_eq!(
        p.values.orig_src,
        Some(AddrMatch::exact("1.2.3.4".parse().unwrap()))
    );
    // --ta is tuple-src or tuple-dst: ambiguous.
    assert_eq!(
        refused("-I expect --ta 1.1.1.1"),
        parameter_problem("unknown option `--ta'")
    );
}

#[test]
fn short_options_combine_as_getopt_combines_them() {
    // A required argument attached, or the next word whatever it looks like.
    let p = parsed("-Lfipv4 -s1.1.1.1");
    assert_eq!(p.family, Some(Family::Ipv4));
    assert_eq!(
        refused("-L -s -d"),
        parameter_problem("Invalid IP address `-d'")
    );
    // An optional argument attached is the rest of the word: -Lf is -L with table `f',
    // which conntrack ignores, as it ignores the next word `ipv4'.
    let p = parsed("-Lf ipv4");
    assert_eq!(
        (p.command, p.family, p.options),
        (Some(Command::List), None, 0)
    );
    let p = parsed("-Lz");
    assert_eq!((p.command, p.options), (Some(Command::List), 0));
    // Options without argument combine: -zL... is -z then -L.
    let p = parsed("-zL");
    assert_eq!((p.command, p.options), (Some(Command::List), 1 << 7));
    // An unknown letter inside a word names the word before it (argv[optind-1]).
    assert_eq!(
        refused("-xL"),
        parameter_problem("unknown option `conntrack'")
    );
    assert_eq!(refused("-L -xz"), parameter_problem("unknown option `-L'"));
    assert_eq!(refused("-L -zx"), parameter_problem("unknown option `-zx'"));
}

#[test]
fn optional_arguments_come_from_the_next_word_unless_it_starts_with_dash_or_bang() {
    assert_eq!(parsed("-L expect").command, Some(Command::ExpList));
    assert_eq!(parsed("-L exp").command, Some(Command::ExpList));
    assert_eq!(parsed("-L unconf").table, Table::Unconfirmed);
    assert_eq!(parsed("-L d").table, Table::Dying);
    assert_eq!(parsed("-C expect").command, Some(Command::ExpCount));
    // Attached, the table is dropped: -Lexpect and --dump=expect list connections.
    assert_eq!(parsed("-Lexpect").command, Some(Command::List));
    assert_eq!(parsed("--dump=expect").command, Some(Command::List));
    // -n takes its address from the next word...
    let p = parsed("-L -n 10.0.0.1:80");
    assert_eq!(
        p.values.src_nat,
        Some(NatMatch {
            addr: Some("10.0.0.1".parse().unwrap()),
            port: Some(80)
        })
    );
    assert_eq!(p.family, Some(Family::Ipv4));
    // ...not from an option, and not attached.
    assert_eq!(
        parsed("-L -g -p tcp").values.dst_nat,
        Some(NatMatch::default())
    );
    assert_eq!(
        parsed("-L -g10.0.0.1").values.dst_nat,
        Some(NatMatch::default())
    );
    let p = parsed("-L -j [fd00::1]:443");
    assert_eq!(
        p.values.any_nat,
        Some(NatMatch {
            addr: Some("fd00::1".parse().unwrap()),
            port: Some(443)
        })
    );
    assert_eq!(p.family, Some(Family::Ipv6));
    // A `!' word is not taken: the table stays conntrack's and the word is skipped.
    assert_eq!(parsed("-L !x").table, Table::Conntrack);
}

#[test]
fn words_that_are_no_option_are_skipped() {
    let p = parsed("conntrack -L conntrack extra words");
    assert_eq!(
        (p.command, p.table),
        (Some(Command::List), Table::Conntrack)
    );
    let p = parsed("conntrack -I -s 1.1.1.1 -d 2.2.2.2 -p udp --sport 1 --dport 2 -t 5");
    assert_eq!(p.command, Some(Command::Create));
    // `--' ends the options: what follows is never read.
    assert_eq!(parsed("-L -- -D").command, Some(Command::List));
}

#[test]
fn values_are_read_as_conntrack_reads_them() {
    // strtoul: `-w 11-s' is zone 11 (conntrack's testsuite relies on it), hex and octal.
    assert_eq!(parsed("-L -w 11-s").values.zone, Some(11));
    assert_eq!(parsed("-L -w 0x10").values.zone, Some(16));
    assert_eq!(parsed("-L --orig-zone 010").values.orig_zone, Some(8));
    // atol: -t 12abc is 12.
    assert_eq!(parsed("-U -t 12abc").values.timeout, Some(12));
    // inet_aton: 10.1 is 10.0.0.1.
    assert_eq!(
        parsed("-L -s 10.1").values.orig_src,
        Some(AddrMatch::exact("10.0.0.1".parse().unwrap()))
    );
    // CIDR: the address with its mask; the suffix read as strtol reads it.
    for (suffix, mask) in [("", "0.0.0.0"), ("+5", "248.0.0.0"), ("-0", "0.0.0.0")] {
        let p = parsed(&format!("-L -s 10.1.2.3/{suffix}"));
        assert_eq!(
            p.values.orig_src.unwrap().mask,
            mask.parse::<IpAddr>().unwrap()
        );
    }
    assert_eq!(
        refused("-L -s 10.1.2.3/-1"),
        parameter_problem("Invalid netmask")
    );
    assert_eq!(
        refused("-L -s 10.1.2.3/+"),
        parameter_problem("Invalid netmask")
    );
    let p = parsed("-L -s 10.1.2.3/8");
    let src = p.values.orig_src.unwrap();
    assert_eq!(src.mask, "255.0.0.0".parse::<IpAddr>().unwrap());
    // -u: prefixes in any case, ! negates, UNREPLIED clears SEEN_REPLY.
    assert_eq!(
        parsed("-L -u ass,!seen").values.status,
        Some(StatusMatch { set: 4, clear: 2 })
    );
    assert_eq!(
        parsed("-L -u UNREPLIED").values.status,
        Some(StatusMatch { set: 0, clear: 2 })
    );
    // -o and -e words by prefix.
    let p = parsed("-L -o ext,i,ktim");
    assert_eq!(
        p.values.output,
        output::EXTENDED | output::ID | output::KTIMESTAMP
    );
    assert_eq!(parsed("-E -e n,des").values.events, 0b101);
    // `d' is a prefix of DST_NAT, which conntrack checks first, whatever the option.
    let (p, notes) = parse_with("-E -e n,d", Path::new(NO_LABELS));
    assert_eq!(p.unwrap().values.events, 0b001);
    assert_eq!(notes, ["WARNING: ignoring DST_NAT, use --dst-nat instead"]);
    // -m VALUE/MASK.
    assert_eq!(
        parsed("-U -s 1.1.1.1 -m 0x10/0xf0").values.mark,
        Some(MarkMatch {
            value: 0x10,
            mask: 0xf0
        })
    );
    // LISTEN is tcp state 9.
    let p = parsed("-I -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2 --state LISTEN -t 5");
    assert_eq!(p.values.state, Some(9));
    // The default family of -I is IPv4; -L has none.
    assert_eq!(
        parsed("-I -r 1.1.1.1 -q 2.2.2.2 -p 2 -t 5").family,
        Some(Family::Ipv4)
    );
    assert_eq!(parsed("-L").family, None);
}

#[test]
fn values_ct_checks() {
    // docs/differences.md, "Values are checked": conntrack reads these as 0.
    let (text, code) = refused("-L -p tcp --sport http");
    assert_eq!(code, 2);
    assert!(
        text.starts_with(&format!("{BANNER}Bad parameter `http' for --sport: ")),
        "{text}"
    );
    let (text, code) = refused("-L -m abc");
    assert_eq!(code, 2);
    assert!(
        text.starts_with(&format!("{BANNER}Bad parameter `abc' for --mark: ")),
        "{text}"
    );
}

#[test]
fn warnings_are_written_as_conntrack_meets_them() {
    let (p, notes) = parse_with("-L -u SRC_NAT -a 1", Path::new(NO_LABELS));
    assert_eq!(p.unwrap().values.status, Some(StatusMatch::default()));
    assert_eq!(
        notes,
        [
            "WARNING: ignoring SRC_NAT, use --src-nat instead",
            "WARNING: ignoring -a, deprecated option."
        ]
    );
    let (p, notes) = parse_with("-L -l foo", Path::new(NO_LABELS));
    assert!(p.is_err());
    assert_eq!(notes, ["nfct_labelmap_new: No such file or directory"]);
}

fn label_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!("ct-compat-labels-{}", std::process::id()));
    std::fs::write(&path, "0 zero\n1 one\n5 five\n").unwrap();
    path
}

#[test]
fn labels_by_name() {
    let path = label_file();
    let (p, notes) = parse_with("-L -l one,five", &path);
    assert_eq!(p.unwrap().values.labels, ["one", "five"]);
    assert!(notes.is_empty());
    let (p, _) = parse_with("-U -s 1.1.1.1 --label-add five", &path);
    assert_eq!(p.unwrap().values.label_add, ["five"]);
    let (p, _) = parse_with("-U -s 1.1.1.1 --label-del", &path);
    assert_eq!(p.unwrap().values.label_del, Some(vec![]));
    let (p, _) = parse_with("-U -s 1.1.1.1 --label-del one", &path);
    assert_eq!(p.unwrap().values.label_del, Some(vec!["one".to_string()]));
    let (p, _) = parse_with("-U -s 1.1.1.1 --label-add one --label-del zero", &path);
    let failure = p.unwrap_err();
    assert_eq!(
        (failure.text(), failure.exit_code()),
        other_problem("cannot use --label-add and --label-del at the same time")
    );
    let (p, _) = parse_with("-L -l six", &path);
    let failure = p.unwrap_err();
    assert_eq!(
        (failure.text(), failure.exit_code()),
        parameter_problem("unknown label 'six'")
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn typed_values_of_the_commands_that_change_entries() {
    let p = parsed(
        "-I -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 10 --dport 20 --state ESTABLISHED -t 50 \
         -u SEEN_REPLY,ASSURED -m 7 -w 3 --src-nat 9.9.9.9:99",
    );
    assert_eq!(p.command, Some(Command::Create));
    let v = &p.values;
    assert_eq!(v.timeout, Some(50));
    assert_eq!(v.status, Some(StatusMatch { set: 6, clear: 0 }));
    assert_eq!(
        v.mark,
        Some(MarkMatch {
            value: 7,
            mask: u32::MAX
        })
    );
    assert_eq!(v.zone, Some(3));
    assert_eq!((v.sport, v.dport, v.state), (Some(10), Some(20), Some(3)));
    assert_eq!(
        v.src_nat,
        Some(NatMatch {
            addr: Some("9.9.9.9".parse().unwrap()),
            port: Some(99)
        })
    );
    let p = parsed("-A -s 1.1.1.1 -d 2.2.2.2 -p udp --sport 1 --dport 2 -t 5");
    assert_eq!(p.command, Some(Command::Add));
    let p = parsed("-U -s 1.1.1.1 -m 42/0xff -u FIXED_TIMEOUT -t 9");
    assert_eq!(p.command, Some(Command::Update));
    let p = parsed(
        "-I expect -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2 --tuple-src 3.3.3.3 \
         --tuple-dst 4.4.4.4 --mask-src 255.255.255.255 --mask-dst 255.255.255.255 \
         --tuple-port-src 0 --tuple-port-dst 5 --mask-port-src 0 --mask-port-dst 65535 -t 10",
    );
    assert_eq!(p.command, Some(Command::ExpCreate));
    assert_eq!(p.values.tuple_dport, Some(5));
    assert_eq!(p.values.mask_dport, Some(65535));
    // An expected tuple of a prefix is refused by the plan, before any socket opens.
    let p = parsed(
        "-I expect -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2 --tuple-src 3.3.3.0/24 \
         --tuple-dst 4.4.4.4 --mask-src 255.255.255.255 --mask-dst 255.255.255.255 \
         --tuple-port-src 0 --tuple-port-dst 5 --mask-port-src 0 --mask-port-dst 65535 -t 10",
    );
    assert_eq!(
        super::lower::run(&p),
        Err(Failure::parameter(
            "create expect needs an address for --tuple-src, not a prefix \
             (3.3.3.0/255.255.255.0)"
        ))
    );
}

#[test]
fn restore_lines_split_as_conntrack_splits_them() {
    assert_eq!(split_line("\t  \n").unwrap(), None);
    assert_eq!(split_line("# -F\n").unwrap(), None);
    assert_eq!(split_line("  # not a comment").unwrap(), None);
    assert_eq!(
        split_line("-D  -s 1.1.1.1\t-p tcp\n").unwrap(),
        Some(vec![
            "-D".into(),
            "-s".into(),
            "1.1.1.1".into(),
            "-p".into(),
            "tcp".into()
        ])
    );
    assert_eq!(
        split_line(r#"-L -l "one, two" x"y"z "a\"b\\c""#).unwrap(),
        Some(vec![
            "-L".into(),
            "-l".into(),
            "one, two".into(),
            "xy".into(),
            "z".into(),
            "a\"b\\c".into()
        ])
    );
    let long = format!("-L {}", "x".repeat(1100));
    assert_eq!(
        split_line(&long).unwrap_err(),
        Failure::parameter("Parameter too long!")
    );
}

#[test]
fn restore_files_are_parsed_whole_before_anything_runs() {
    let labels = Path::new(NO_LABELS);
    let parse = |text: &str| {
        parse_file(
            "conntrack",
            text,
            &mut Labels::new(labels),
            &mut Notes::default(),
        )
    };
    let commands = parse(
        "# made by -o save\n\
         -I -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 1 --dport 2 --state LISTEN -t 50\n\
         \n\
         \t-D -w 123\n\
         -F\n",
    )
    .unwrap();
    let kinds: Vec<_> = commands.iter().map(|c| c.command).collect();
    assert_eq!(
        kinds,
        [
            Some(Command::Create),
            Some(Command::Delete),
            Some(Command::Flush)
        ]
    );
    // The handler of an earlier -p stays, as conntrack's global does.
    assert_eq!(commands[1].handler, Some(Handler::Tcp));
    // A bad line fails the file; so does a command a file may not hold, even after it.
    assert_eq!(
        parse("-F\n-D -s 1.1.1.x\n").unwrap_err(),
        Failure::parameter("Invalid IP address `1.1.1.x'")
    );
    assert_eq!(
        parse("-F\n-L\n").unwrap_err(),
        Failure::parameter("Cannot use command `-L' with --load-file")
    );
    assert_eq!(
        parse("-s 1.1.1.1 -d 2.2.2.2\n").unwrap_err(),
        Failure::parameter("Illegal option `--src' with this command")
    );
    assert_eq!(
        parse("-I expect -s 1.1.1.1 -d 2.2.2.2 -p 2 -t 1 --tuple-src 1.1.1.1 --tuple-dst 1.1.1.1 --mask-src 1.1.1.1 --mask-dst 1.1.1.1\n")
            .unwrap_err(),
        Failure::parameter("Cannot use command `-C expect' with --load-file")
    );
    assert!(parse("").unwrap().is_empty());
}

#[test]
fn getopt_alone() {
    let table = [
        LongOpt {
            name: "alpha",
            has_arg: HasArg::No,
            val: 'a',
        },
        LongOpt {
            name: "alps",
            has_arg: HasArg::Required,
            val: 'p',
        },
    ];
    let short = |c| match c {
        'a' => Some(('a', HasArg::No)),
        'p' => Some(('p', HasArg::Required)),
        _ => None,
    };
    let words: Vec<String> = ["prog", "--al", "--alps", "x", "-ap", "y", "--alpha=1", "-p"]
        .map(String::from)
        .to_vec();
    let mut getopt = Getopt::new(&words);
    let mut found = Vec::new();
    while let Some(f) = getopt.next(short, &table) {
        let word = getopt.last_word().to_string();
        found.push((f, word));
    }
    assert_eq!(
        found,
        [
            (Found::Unknown, "--al".to_string()),
            (Found::Opt('p', Some("x".into())), "x".into()),
            // Inside a word of several options, optind still points at it.
            (Found::Opt('a', None), "x".into()),
            (Found::Opt('p', Some("y".into())), "y".into()),
            (Found::Unknown, "--alpha=1".into()),
            (Found::MissingArgument, "-p".into()),
        ]
    );
}

/// A `-R` file is read as UTF-8: a line that is not is refused by its number, with a
/// short escaped excerpt, before any line runs.
#[test]
fn a_file_line_that_is_not_utf8_is_refused_by_its_number() {
    assert_eq!(
        text_of("f", b"-L\n-D -p tcp\n").map_err(|f| f.message),
        Ok("-L\n-D -p tcp\n")
    );
    let failure = text_of("f", b"-L\n-D -p tcp\xff\n-L\n").unwrap_err();
    assert_eq!(
        (failure.message.as_str(), failure.parameter),
        (
            "line 2 of f is not UTF-8 text: `-D -p tcp\\xff'; give conntrack's options as UTF-8",
            true
        )
    );
    let failure = text_of("f", &[0xfe; 40]).unwrap_err();
    assert_eq!(
        failure.message,
        format!(
            "line 1 of f is not UTF-8 text: `{}...'; give conntrack's options as UTF-8",
            "\\xfe".repeat(32)
        )
    );
}
