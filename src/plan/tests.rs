use std::path::Path;

use super::*;
use crate::cli::{Cli, Command};
use crate::kernel::*;
use crate::labelmap::CONNLABEL_CONF;
use crate::model::entry::L4;
use clap::Parser;

/// The parts of a `ct list` command line.
#[derive(Debug)]
struct Plan {
    filter: Filter,
}

fn plan(args: &str) -> Result<Plan, UsageError> {
    let argv = std::iter::once("ct").chain(args.split_whitespace());
    let Command::List(list) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not a list command");
    };
    let (filter, labels) =
        filter_with_labels(&list.filter, Path::new("/nonexistent/connlabel.conf"))?;
    Output::from_args(&list.output, labels, &Environment::default())?;
    Target::from_args(&list.target, false)?;
    Ok(Plan { filter })
}

#[test]
fn addresses_set_the_family() {
    assert_eq!(
        plan("list -s 10.0.0.0/8").unwrap().filter.family,
        Some(AF_INET)
    );
    assert_eq!(
        plan("list -q fd00::1").unwrap().filter.family,
        Some(AF_INET6)
    );
    assert_eq!(
        plan("list -n fd00::1").unwrap().filter.family,
        Some(AF_INET6)
    );
}

#[test]
fn mismatched_families_are_a_usage_error() {
    assert_eq!(
        plan("list -f ipv4 -d fd00::1").unwrap_err().0,
        "-d/--dst fd00::1 is ipv6 but -f/--family asks for ipv4"
    );
    assert_eq!(
        plan("list -s 10.0.0.1 -r fd00::2").unwrap_err().0,
        "-r/--reply-src fd00::2 is ipv6 but -s/--src asks for ipv4"
    );
}

#[test]
fn masks_need_their_address() {
    assert_eq!(
        plan("list --mask-src 255.0.0.0").unwrap_err().0,
        "--mask-src needs -s/--src"
    );
    let p = plan("list -s 10.1.0.0 --mask-src 255.255.0.0").unwrap();
    assert_eq!(p.filter.orig_src, Some("10.1.0.0/16".parse().unwrap()));
}

#[test]
fn states_are_resolved_against_protocols() {
    assert_eq!(
        plan("list -p udp --state ESTABLISHED").unwrap_err().0,
        "invalid --state: no state 'ESTABLISHED' in the selected protocols"
    );
    assert_eq!(plan("list --state close").unwrap().filter.states.len(), 1);
}

#[test]
fn ports_need_a_protocol_with_ports() {
    assert_eq!(
        plan("list -p 99 --dport 80").unwrap_err().0,
        "--dport needs a protocol with ports (tcp, udp, udplite, sctp, dccp) in -p"
    );
    assert_eq!(
        plan("list -p icmp --dport 80").unwrap_err().0,
        "icmp has no ports: its tuple carries a type, code and id; use --icmp-type, \
             --icmp-code and --icmp-id instead of --dport"
    );
    assert!(plan("list -p icmp,tcp --dport 80").is_ok());
    assert!(plan("list --dport 80").is_ok());
}

/// `--sport` never means a GRE key: gre's tuple carries keys, with flags of their own.
#[test]
fn gre_has_keys_not_ports() {
    assert_eq!(
        plan("list -p gre --sport 16").unwrap_err().0,
        "gre has no ports: its tuple carries keys; use --srckey instead of --sport"
    );
    assert_eq!(
        plan("list -p gre,icmp --reply-port-dst 16").unwrap_err().0,
        "gre has no ports: its tuple carries keys; use --reply-key-dst instead of \
             --reply-port-dst"
    );
    assert_eq!(
        plan("list -p gre --port 16").unwrap_err().0,
        "gre has no ports: its tuple carries keys; use --srckey/--dstkey instead of --port"
    );
    assert_eq!(
        plan("list -p tcp --srckey 0x10").unwrap_err().0,
        "tcp has no keys: --srckey is a GRE key; its tuple carries ports, use --sport"
    );
    assert_eq!(
        plan("list -p icmpv6 --reply-key-dst 1").unwrap_err().0,
        "icmpv6 has no keys: --reply-key-dst is a GRE key; its tuple carries a type, \
             code and id, use --icmp-type, --icmp-code and --icmp-id"
    );
    assert_eq!(
        plan("list -p 99 --dstkey 1").unwrap_err().0,
        "--dstkey is a GRE key: it needs gre in -p"
    );
    let p = plan(
        "list -p gre --srckey 0x10 --orig-key-dst 32 --reply-key-src 0x20 \
                      --reply-key-dst 16",
    )
    .unwrap();
    let f = &p.filter;
    assert_eq!(
        (
            f.orig_key_src,
            f.orig_key_dst,
            f.reply_key_src,
            f.reply_key_dst
        ),
        (Some(16), Some(32), Some(32), Some(16))
    );
    assert!(
        plan("list --srckey 0x10").is_ok(),
        "keys alone select GRE entries"
    );
    assert!(plan("list -p tcp,gre --sport 80 --srckey 1").is_ok());
}

fn get(args: &str) -> Result<Lookup, UsageError> {
    let argv = std::iter::once("ct").chain(args.split_whitespace());
    let Command::Get(get) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not a get command");
    };
    lookup(&get.tuple)
}

#[test]
fn get_takes_gre_keys_in_each_direction() {
    let original = get("get -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 0x10 --dstkey 32").unwrap();
    assert_eq!(
        (original.direction, original.tuple.l4),
        (
            CTA_TUPLE_ORIG,
            L4::Gre {
                srckey: 16,
                dstkey: 32
            }
        )
    );
    let reply = get("get -p gre -r 10.0.0.2 -q 10.0.0.1 --reply-key-src 0x20 \
                         --reply-key-dst 0x10")
    .unwrap();
    assert_eq!(
        (reply.direction, reply.tuple.l4),
        (
            CTA_TUPLE_REPLY,
            L4::Gre {
                srckey: 32,
                dstkey: 16
            }
        )
    );
    assert_eq!(
        get("get -p gre -s 10.0.0.1 -d 10.0.0.2 --sport 16 --dport 32")
            .unwrap_err()
            .0,
        "gre has no ports: its tuple carries keys; use --srckey instead of --sport"
    );
    assert_eq!(
        get("get -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 16")
            .unwrap_err()
            .0,
        "get needs --srckey and --dstkey for gre (its tuple carries keys, in hex or \
             decimal)"
    );
    assert_eq!(
        get("get -p gre -r 10.0.0.2 -q 10.0.0.1 --reply-key-src 1")
            .unwrap_err()
            .0,
        "get needs --reply-key-src and --reply-key-dst for gre (its tuple carries keys, \
             in hex or decimal)"
    );
    assert_eq!(
        get("get -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 1 --dstkey 2 --reply-key-src 2")
            .unwrap_err()
            .0,
        "--reply-key-src does not fit a tuple given with -s/--src and -d/--dst"
    );
    assert_eq!(
        get("get -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 1 --dport 2 --srckey 1")
            .unwrap_err()
            .0,
        "udp has no keys: --srckey is a GRE key; its tuple carries ports, use --sport"
    );
    assert_eq!(
        get(
            "get -p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 8 --icmp-code 0 \
                 --icmp-id 1 --sport 5"
        )
        .unwrap_err()
        .0,
        "icmp has no ports: its tuple carries a type, code and id; use --icmp-type, \
             --icmp-code and --icmp-id instead of --sport"
    );
}

#[test]
fn icmp_flags_need_an_icmp_protocol() {
    assert_eq!(
        plan("list -p tcp --icmp-type 8").unwrap_err().0,
        "--icmp-type needs icmp or icmpv6 in -p"
    );
    let p = plan("list -p icmpv6 --icmpv6-type 128 --icmpv6-id 7").unwrap();
    assert_eq!((p.filter.icmp_type, p.filter.icmp_id), (Some(128), Some(7)));
}

#[test]
fn labels_need_the_label_map() {
    assert_eq!(
        plan("list -l blocked").unwrap_err().0,
        "-l/--label needs label names from /nonexistent/connlabel.conf: \
             No such file or directory (os error 2)"
    );
}

#[test]
fn columns_only_with_the_table() {
    assert_eq!(
        plan("list --columns proto,src").unwrap_err().0,
        "--columns is for -o table"
    );
    assert_eq!(
        plan("list -o json --columns proto").unwrap_err().0,
        "--columns is for -o table"
    );
    assert!(plan("list -o table --columns proto,src").is_ok());
}

#[test]
fn repeated_status_flags_are_anded_and_contradictions_refused() {
    let p = plan("list -u ASSURED -u !EXPECTED").unwrap();
    let s = p.filter.status.unwrap();
    assert_eq!(
        (s.set, s.clear),
        (1 << IPS_ASSURED_BIT, 1 << IPS_EXPECTED_BIT)
    );
    assert_eq!(
        plan("list -u ASSURED -u !ASSURED").unwrap_err().0,
        "-u/--status asks for a flag both set and clear"
    );
}

#[test]
fn options_of_another_format_are_refused() {
    assert_eq!(
        plan("list -o json,id").unwrap_err().0,
        "-o id is a modifier of conntrack's formats (the classic line and xml); \
             -o json always shows what it has"
    );
    assert_eq!(
        plan("list -o table,extended").unwrap_err().0,
        "-o extended is a modifier of conntrack's formats (the classic line and xml); \
             -o table always shows what it has"
    );
    assert_eq!(
        plan("list --color always").unwrap_err().0,
        "--color is for -o table"
    );
    assert_eq!(
        plan("list -o json --color never").unwrap_err().0,
        "--color is for -o table"
    );
    assert!(plan("list -o table --color never").is_ok());
    // conntrack takes its modifiers with xml (some change nothing there): so does ct.
    assert!(plan("list -o xml,extended,id,ktimestamp,labels,timestamp").is_ok());
}

#[test]
fn an_empty_namespace_is_a_usage_error() {
    assert_eq!(
        plan("list --netns=").unwrap_err().0,
        "--netns needs a namespace: a name from `ip netns list`, a path or a pid"
    );
}

#[test]
fn the_last_of_a_repeated_flag_wins_as_in_conntrack() {
    let p = plan("list -m 1 -m 2").unwrap();
    assert_eq!(p.filter.mark.unwrap().value, 2);
}

#[test]
fn nat_flags_take_an_optional_address() {
    let p = plan("list -n").unwrap();
    assert_eq!(p.filter.src_nat, Some(Default::default()));
    let p = plan("list -g 10.0.0.7:8080 -p tcp").unwrap();
    assert_eq!(p.filter.dst_nat.unwrap().port, Some(8080));
    assert_eq!(p.filter.protocols, vec![IPPROTO_TCP]);
}

fn list_output(args: &str, env: &Environment) -> Output {
    let argv = std::iter::once("ct").chain(args.split_whitespace());
    let Command::List(list) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not a list command");
    };
    List::from_args(&list, env).unwrap().output
}

/// The table's colour is decided here, once, from --color, NO_COLOR and whether stdout
/// is a terminal; the printers take the decision as it is.
#[test]
fn the_colour_is_resolved_in_the_plan() {
    let terminal = |no_color: Option<&str>| Environment {
        stdout_is_terminal: true,
        no_color: no_color.map(String::from),
    };
    let color = |args: &str, env: &Environment| match list_output(args, env).format {
        Format::Table { color, .. } => color,
        other => panic!("not a table: {other:?}"),
    };
    assert!(color("list -o table", &terminal(None)));
    assert!(color("list -o table", &terminal(Some(""))));
    assert!(!color("list -o table", &terminal(Some("1"))));
    assert!(!color("list -o table", &Environment::default()));
    assert!(color(
        "list -o table --color always",
        &Environment::default()
    ));
    assert!(!color("list -o table --color never", &terminal(None)));
    assert!(list_output("list", &terminal(None)).line_buffered);
    assert!(!list_output("list", &Environment::default()).line_buffered);
}

#[test]
fn the_exporter_takes_the_same_namespace_flags() {
    let exporter = |args: &str| {
        let argv = std::iter::once("ct").chain(args.split_whitespace());
        let Command::Exporter(exporter) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not the exporter");
        };
        Exporter::from_args(&exporter)
    };
    assert_eq!(
        exporter("exporter --netns=").unwrap_err().0,
        "--netns needs a namespace: a name from `ip netns list`, a path or a pid"
    );
    assert_eq!(
        exporter("exporter --netns blue").unwrap().scope,
        Scope::Named("blue".into())
    );
    assert_eq!(exporter("exporter --all-netns").unwrap().scope, Scope::All);
    assert_eq!(exporter("exporter").unwrap().scope, Scope::Own);
}

#[test]
fn top_takes_its_format_and_label_names_from_the_plan() {
    let top = |args: &str| {
        let argv = std::iter::once("ct").chain(args.split_whitespace());
        let Command::Top(top) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not top");
        };
        Top::from_args(&top, &Environment::default()).unwrap()
    };
    let plain = top("top -o plain --input saved.txt");
    assert_eq!(plain.format, TopFormat::Plain);
    assert_eq!(plain.labels, LabelSource::FileIfPresent(CONNLABEL_CONF));
    assert_eq!(
        plain.source,
        Source::Saved(Saved {
            path: "saved.txt".into(),
            labels: LabelSource::FileIfPresent(CONNLABEL_CONF),
        })
    );
    assert_eq!(top("top --once").format, TopFormat::Table);
    assert_eq!(top("top -o json").format, TopFormat::Json);
}

#[test]
fn stats_formats_are_output_s_own() {
    let format = |args: &str| {
        let argv = std::iter::once("ct").chain(args.split_whitespace());
        let Command::Stats(stats) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not stats");
        };
        Stats::from_args(&stats).unwrap().format
    };
    assert_eq!(format("stats"), StatsFormat::Classic);
    assert_eq!(format("stats -o json"), StatsFormat::Json);
    assert_eq!(format("stats expect -o table"), StatsFormat::Table);
}

fn create(args: &str) -> Result<Create, UsageError> {
    let argv = std::iter::once("ct").chain(args.split_whitespace());
    let Command::Create(create) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not a create command");
    };
    Create::with_labels(&create, Path::new("/nonexistent/connlabel.conf"))
}

#[test]
fn create_turns_the_given_direction_around() {
    let plan = create(
        "create -p icmp -r 10.0.0.2 -q 10.0.0.1 --icmp-type 0 --icmp-code 0 --icmp-id 9 -t 5",
    )
    .unwrap();
    let entry = plan.entry;
    assert_eq!(entry.original.src, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(
        entry.original.l4,
        L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 9
        }
    );
    assert_eq!(entry.reply.src, Some("10.0.0.2".parse().unwrap()));
    assert_eq!((entry.timeout, entry.status), (5, None));
    assert_eq!(plan.existing, crate::model::create::Existing::Fail);
}

#[test]
fn create_takes_conntracks_listen_and_refuses_what_it_cannot_send() {
    let tcp = "create -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 1 --dport 2 -t 5";
    let listen = create(&format!("{tcp} --state listen --exist-ok")).unwrap();
    assert_eq!(
        listen.entry.state,
        Some(crate::model::entry::ProtoState::Tcp(
            TCP_CONNTRACK_SYN_SENT2
        ))
    );
    assert_eq!(listen.existing, crate::model::create::Existing::Keep);
    let refused = [
        (
            format!("{tcp} --state ESTABLISHED -u !ASSURED"),
            "create sets status flags; a !FLAG clears nothing on a new entry, leave it out",
        ),
        (format!("{tcp} --state NOPE"), "unknown tcp state 'NOPE'"),
        (
            format!("{tcp} --state ESTABLISHED -l blocked"),
            "-l/--label needs label names from /nonexistent/connlabel.conf: No such file or \
             directory (os error 2)",
        ),
        (
            "create -p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 1 \
             -t 5 --src-nat 10.0.0.9:80"
                .to_string(),
            "--src-nat: icmp has no ports to map; give the address alone",
        ),
        (
            format!("{tcp} --state ESTABLISHED -r 10.0.0.2"),
            "create needs both -r/--reply-src and -q/--reply-dst, or neither (the reply is \
             then the original turned around)",
        ),
    ];
    for (args, message) in refused {
        assert_eq!(create(&args).unwrap_err().0, message, "{args}");
    }
}

#[test]
fn create_expect_builds_master_expected_tuple_and_mask() {
    let argv = "ct create expect -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 1000 --dport 69 \
                --tuple-src 10.0.0.2 --tuple-dst 10.0.0.1 --tuple-port-src 0 \
                --tuple-port-dst 5000 --mask-src 255.255.255.255 --mask-dst 255.255.255.0 \
                --mask-port-src 0 --mask-port-dst 65535 -t 30 -w 4";
    let Command::Create(args) = Cli::try_parse_from(argv.split_whitespace())
        .unwrap()
        .command
    else {
        panic!("not a create command");
    };
    assert_eq!(args.table, Table::Expect);
    let plan = CreateExpect::from_args(&args).unwrap();
    let tuple = |src: &str, dst: &str, sport: u16, dport: u16| Tuple {
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        protonum: 17,
        l4: L4::Ports { sport, dport },
        zone: None,
    };
    assert_eq!(
        plan.expectation,
        NewExpectation {
            family: Family::Ipv4,
            master: tuple("10.0.0.1", "10.0.0.2", 1000, 69),
            expected: tuple("10.0.0.2", "10.0.0.1", 0, 5000),
            mask: tuple("255.255.255.255", "255.255.255.0", 0, 65535),
            timeout: 30,
            zone: Some(4),
        }
    );
    // An IPv6 mask for an IPv4 master is refused.
    let argv = argv.replace("--mask-src 255.255.255.255", "--mask-src ffff::");
    let Command::Create(args) = Cli::try_parse_from(argv.split_whitespace())
        .unwrap()
        .command
    else {
        panic!("not a create command");
    };
    assert_eq!(
        CreateExpect::from_args(&args).unwrap_err().0,
        "--mask-src ffff:: is not of the master's family (ipv4)"
    );
}

fn get_expect(args: &str) -> Result<GetExpect, UsageError> {
    let argv = std::iter::once("ct").chain(args.split_whitespace());
    let Command::Get(get) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not a get command");
    };
    assert_eq!(get.table, Table::Expect);
    GetExpect::from_args(&get, &Environment::default())
}

#[test]
fn get_expect_takes_the_expected_tuple_and_its_zone_only() {
    let plan =
        get_expect("get expect -p udp -s fd00::2 -d fd00::1 --sport 0 --dport 69 -w 4").unwrap();
    assert_eq!(
        (plan.family, plan.expected, plan.zone),
        (
            Family::Ipv6,
            Tuple {
                src: Some("fd00::2".parse().unwrap()),
                dst: Some("fd00::1".parse().unwrap()),
                protonum: IPPROTO_UDP,
                l4: L4::Ports {
                    sport: 0,
                    dport: 69
                },
                zone: None,
            },
            Some(4)
        )
    );
    let tuple = "get expect -p udp -s 1.1.1.1 -d 2.2.2.2 --sport 0 --dport 69";
    for (more, error) in [
        ("-r 2.2.2.2", "-r/--reply-src does not fit an expectation"),
        (
            "--reply-port-src 1",
            "--reply-port-src does not fit an expectation",
        ),
        ("--orig-zone 1", "--orig-zone does not fit an expectation"),
        ("-o save", "-o save writes entries as conntrack commands"),
        (
            "-o table --columns src",
            "--columns picks the columns of entries",
        ),
    ] {
        let err = get_expect(&format!("{tuple} {more}")).unwrap_err();
        assert!(err.0.starts_with(error), "{more}: {}", err.0);
    }
    let err = get_expect("get expect -p udp -s 1.1.1.1 -d 2.2.2.2 --sport 0").unwrap_err();
    assert_eq!(
        err.0,
        "get expect needs --sport and --dport for this protocol"
    );
}
