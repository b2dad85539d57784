//! A parsed conntrack command line lowered into the arguments of ct's own command,
//! whose plan then runs as it does under ct's name: one definition of each check,
//! filter and printer. Only the checks conntrack makes when it runs the command (not
//! while parsing) are here, with its words.

use super::Failure;
use super::options::{Command, Handler, bit};
use super::parse::{Parsed, events, output};
use crate::cli::{
    AllNetnsArgs, ChangeArgs, CountArgs, CreateArgs, DeleteArgs, DeleteModeArgs, EventArg,
    ExpectArgs, FamilyArg, FilterArgs, FlushArgs, GetArgs, InputArgs, ListArgs, OutputArgs,
    OutputOption, StatsArgs, TargetArgs, TupleArgs, UpdateArgs, WatchArgs,
};
use crate::commands::{self, delete::NothingMatched};
use crate::filter::AddrMatch;
use crate::model::create::Creation;
use crate::model::entry::Family;
use crate::model::update::MarkChange;
use crate::plan::{self, ConntrackChanges, Environment, UsageError};

use super::Table;

/// Where a command comes from: conntrack runs a line of a `-R` file without its
/// summary, and a line that matched nothing is no failure there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    CommandLine,
    File,
}

/// Runs the command; its exit status, or the failure to report.
pub fn run(parsed: &Parsed) -> Result<u8, Failure> {
    run_from(parsed, Source::CommandLine)
}

/// Runs the command of the command line or of a line of a file.
pub fn run_from(parsed: &Parsed, source: Source) -> Result<u8, Failure> {
    let command = parsed.command.ok_or_else(|| Failure::other("no command"))?;
    let ran = match command {
        Command::Create | Command::Add => return create(parsed, command, source),
        Command::Update => update(parsed, source)?,
        Command::ExpCreate => return create_expect(parsed),
        Command::Delete | Command::ExpDelete if source == Source::File => {
            return Ok(outcome_in_file(delete(parsed, true)?));
        }
        Command::List | Command::ExpList => list(parsed)?,
        Command::Get => get(parsed)?,
        Command::ExpGet => return get_expect(parsed),
        Command::Delete | Command::ExpDelete => delete(parsed, false)?,
        Command::Flush | Command::ExpFlush => flush(parsed)?,
        Command::Event | Command::ExpEvent => watch(parsed)?,
        Command::Count | Command::ExpCount => count(parsed)?,
        Command::Stats | Command::ExpStats => stats(parsed)?,
        Command::Version | Command::Help => return Ok(0),
    };
    Ok(outcome(ran))
}

/// A delete of a `-R` file: one that matched nothing is no failure (conntrack counts
/// nothing there).
fn outcome_in_file(ran: anyhow::Result<()>) -> u8 {
    match ran {
        Err(err) if err.is::<NothingMatched>() => 0,
        other => outcome(other),
    }
}

/// conntrack's words for an errno the kernel answered a command with (its err2str):
/// "Operation failed: ...", exit 1.
fn operation_failed(command: Command, errno: i32) -> Failure {
    let creating = matches!(command, Command::Create | Command::Add);
    let text = match errno {
        libc::EEXIST if command == Command::Create => {
            "Such conntrack exists, try -U to update".to_string()
        }
        libc::ENOENT if command == Command::ExpCreate => "master conntrack not found".to_string(),
        libc::ENOENT if creating || matches!(command, Command::Get | Command::Delete) => {
            "such conntrack doesn't exist".to_string()
        }
        libc::EINVAL => "invalid parameters".to_string(),
        libc::EPERM => {
            "sorry, you must be root or get CAP_NET_ADMIN capability to do this".to_string()
        }
        libc::ETIME if creating => "conntrack has expired".to_string(),
        errno => strerror(errno),
    };
    Failure::other(format!("Operation failed: {text}"))
}

/// The C library's words for an errno, as strerror gives them.
fn strerror(errno: i32) -> String {
    super::os_error_text(&std::io::Error::from_raw_os_error(errno))
}

/// `-I` and `-A`: the entry of conntrack's options, created through ct create's plan.
/// -I fails on an existing entry; -A keeps it and counts nothing.
fn create(parsed: &Parsed, command: Command, source: Source) -> Result<u8, Failure> {
    refuse_unsupported(parsed)?;
    let v = &parsed.values;
    let args = CreateArgs {
        table: Table::Conntrack,
        tuple: tuple_args(parsed),
        expect: ExpectArgs::default(),
        helper: None,
        timeout: v.timeout.unwrap_or(0),
        status: v.status.into_iter().collect(),
        mark: v.mark.map(|mark| mark.value),
        label: v.label_add.clone(),
        src_nat: v.src_nat,
        dst_nat: v.dst_nat,
        state: v
            .state
            .and_then(|state| state_name(parsed.handler, state))
            .map(str::to_string),
        // conntrack -I sends a vtag with its bytes swapped (htonl twice), so the kernel
        // keeps --orig-vtag 1 as 0x01000000: the same tag here.
        orig_vtag: v.orig_vtag.map(u32::swap_bytes),
        reply_vtag: v.reply_vtag.map(u32::swap_bytes),
        role: v.role,
        exist_ok: command == Command::Add,
        target: target(parsed),
    };
    let plan = plan::Create::from_args(&args).map_err(plan_failure)?;
    let created = match commands::create::answer(&plan) {
        Ok(Creation::Created) => 1,
        Ok(Creation::Existed) if command == Command::Add => 0,
        Ok(Creation::Existed) => return Err(operation_failed(command, libc::EEXIST)),
        Ok(Creation::Refused(errno)) => return Err(operation_failed(command, errno)),
        Err(err) => return Err(Failure::other(format!("{err:#}"))),
    };
    if source == Source::CommandLine {
        use std::io::Write;
        let verb = if command == Command::Add {
            "added"
        } else {
            "created"
        };
        let _ = writeln!(
            commands::Stderr,
            "{}{created} flow entries have been {verb}.",
            super::BANNER
        );
    }
    Ok(0)
}

/// `-I expect`: the expectation of conntrack's options (the master is the -s/-d tuple),
/// created through ct create expect's plan, with conntrack's words for the kernel's
/// refusal.
fn create_expect(parsed: &Parsed) -> Result<u8, Failure> {
    refuse_unsupported(parsed)?;
    let v = &parsed.values;
    let args = CreateArgs {
        table: Table::Expect,
        tuple: tuple_args(parsed),
        expect: ExpectArgs {
            tuple_src: v.tuple_src,
            tuple_dst: v.tuple_dst,
            tuple_port_src: v.tuple_sport,
            tuple_port_dst: v.tuple_dport,
            mask_src: v.mask_src.filter(|_| has(parsed, bit::MASK_SRC)),
            mask_dst: v.mask_dst.filter(|_| has(parsed, bit::MASK_DST)),
            mask_port_src: v.mask_sport,
            mask_port_dst: v.mask_dport,
        },
        helper: None,
        timeout: v.timeout.unwrap_or(0),
        status: Vec::new(),
        mark: None,
        label: Vec::new(),
        src_nat: None,
        dst_nat: None,
        state: None,
        orig_vtag: None,
        reply_vtag: None,
        role: None,
        exist_ok: false,
        target: target(parsed),
    };
    let plan = plan::CreateExpect::from_args(&args).map_err(plan_failure)?;
    match commands::create::answer_expect(&plan) {
        Ok(Creation::Created) => {}
        Ok(Creation::Existed) => return Err(operation_failed(Command::ExpCreate, libc::EEXIST)),
        Ok(Creation::Refused(errno)) => {
            return Err(operation_failed(Command::ExpCreate, errno));
        }
        Err(err) => return Err(Failure::other(format!("{err:#}"))),
    }
    // conntrack prints nothing for a created expectation.
    Ok(0)
}

/// `-U`: the entries conntrack's filter options select (-m and -u are new values here,
/// not filters), changed through ct update's plan; entries already as asked are
/// skipped and not counted, as conntrack does.
fn update(parsed: &Parsed, source: Source) -> Result<anyhow::Result<()>, Failure> {
    check_masks(parsed)?;
    refuse_unsupported(parsed)?;
    let v = &parsed.values;
    if v.state.is_some() {
        return Err(Failure::parameter(
            "ct cannot change an entry's --state: -U changes the mark, labels, timeout and \
             status (conntrack sends the state; leave it out)",
        ));
    }
    let changes_nothing = v.mark.is_none()
        && v.status.is_none()
        && v.timeout.is_none()
        && v.label_add.is_empty()
        && v.label_del.is_none();
    if changes_nothing {
        // conntrack sends each entry back as it is, finds it unchanged and counts none;
        // ct sends nothing and says the same (no summary within a -R file).
        if source == Source::File {
            return Ok(Ok(()));
        }
        use std::io::Write;
        let _ = writeln!(
            commands::Stderr,
            "{}0 flow entries have been updated.",
            commands::prefix()
        );
        return Ok(Err(NothingMatched.into()));
    }
    check_changes(v)?;
    let mut filter = filter_args(parsed);
    filter.mark = None;
    filter.status = Vec::new();
    // A mark value with bits outside its mask is conntrack's XOR; ct update's flag
    // cannot say it, so the plan takes it as it is.
    let xor_mark = v
        .mark
        .filter(|mark| mark.value & !mark.mask != 0)
        .map(|mark| MarkChange {
            value: mark.value,
            mask: mark.mask,
        });
    let clear_labels = v.label_del.as_ref().is_some_and(Vec::is_empty);
    let mut output = output_args(parsed);
    output.quiet = source == Source::File;
    let args = UpdateArgs {
        changes: ChangeArgs {
            set_mark: v.mark.filter(|_| xor_mark.is_none()),
            add_label: v.label_add.clone(),
            del_label: v.label_del.clone().unwrap_or_default(),
            set_timeout: v.timeout,
            set_status: v.status.into_iter().collect(),
        },
        dry_run: false,
        output,
        filter,
        target: target(parsed),
    };
    let extra = ConntrackChanges {
        mark: xor_mark,
        clear_labels,
    };
    let plan = plan::Update::with_conntrack_changes(&args, &Environment::current(), extra)
        .map_err(plan_failure)?;
    let ran = commands::update::run(plan);
    Ok(match ran {
        Err(err) if source == Source::File && err.is::<NothingMatched>() => Ok(()),
        other => other,
    })
}

/// The changes ct update's plan refuses, refused first in words that name conntrack's
/// options (docs/differences.md). conntrack sends them: `-t 0` ends the entries (it then
/// reads none back, says 0 updated and exits 1) and a status flag the kernel keeps
/// itself is refused with EBUSY, which conntrack reports and still counts as updated.
fn check_changes(v: &super::parse::Values) -> Result<(), Failure> {
    use crate::model::update::SETTABLE_STATUS;
    if v.timeout == Some(0) {
        return Err(Failure::parameter(
            "ct does not -U with -t 0: it would end the entries at once, so none could be \
             read back; to remove them, use -D with the same options",
        ));
    }
    let Some(status) = v.status else {
        return Ok(());
    };
    if status.clear != 0 {
        return Err(Failure::parameter(
            "-U with -u only sets flags: the kernel never clears one on request (give \
             flags without ! and not UNREPLIED)",
        ));
    }
    let settable = SETTABLE_STATUS.iter().fold(0, |bits, bit| bits | 1 << bit);
    if status.set & !settable != 0 {
        return Err(Failure::parameter(
            "-U with -u sets SEEN_REPLY, ASSURED and FIXED_TIMEOUT only: the kernel refuses \
             to change the other flags (Device or resource busy)",
        ));
    }
    Ok(())
}

/// The outcome of ct's command as conntrack's exit status: a usage error of the plan
/// is a parameter problem; a delete that found nothing, 1; a reader of stdout that went
/// away, 0; any other error, 1 with its message.
fn outcome(ran: anyhow::Result<()>) -> u8 {
    use std::io::Write;
    match ran {
        Ok(()) => 0,
        Err(err) if commands::is_broken_pipe(&err) => 0,
        Err(err) if err.is::<NothingMatched>() => 1,
        Err(err) if err.is::<UsageError>() => {
            let failure = Failure::parameter(err.to_string());
            let _ = commands::Stderr.write_all(failure.text().as_bytes());
            2
        }
        Err(err) => {
            let _ = writeln!(commands::Stderr, "{}{err:#}", super::BANNER);
            1
        }
    }
}

fn has(parsed: &Parsed, b: usize) -> bool {
    parsed.options & (1 << b) != 0
}

/// conntrack's check of the masks, made when it builds its filter.
fn check_masks(parsed: &Parsed) -> Result<(), Failure> {
    if has(parsed, bit::MASK_SRC) && !has(parsed, bit::SRC) {
        return Err(Failure::parameter("Can't use --mask-src without --src"));
    }
    if has(parsed, bit::MASK_DST) && !has(parsed, bit::DST) {
        return Err(Failure::parameter("Can't use --mask-dst without --dst"));
    }
    Ok(())
}

/// Options conntrack takes and ct refuses, with the reason (docs/differences.md).
fn refuse_unsupported(parsed: &Parsed) -> Result<(), Failure> {
    if has(parsed, bit::SECMARK) {
        return Err(Failure::parameter(
            "ct does not take --secmark: the kernel reports no entry's secmark (only its \
             security context, CTA_SECCTX), so no entry could be selected by it; conntrack \
             1.4.7 accepts it and filters nothing",
        ));
    }
    // -I and -A make the entry with them. conntrack's table lets -U and -G take the
    // vtags and -I expect both: -U sends the tags without the state, which the kernel
    // refuses (EINVAL: nlattr_to_sctp takes them only with the state, and ct does not
    // change a tracker's state); -G sends them and the kernel's get reads only the
    // tuple; -I expect sends none.
    let values = &parsed.values;
    let creates = matches!(parsed.command, Some(Command::Create | Command::Add));
    if !creates
        && (values.orig_vtag.is_some() || values.reply_vtag.is_some() || values.role.is_some())
    {
        return Err(Failure::parameter(
            "ct takes SCTP's --orig-vtag and --reply-vtag and DCCP's --role only where -I \
             or -A makes an entry: the kernel changes the tags only with the tracker's \
             --state, which -U does not change, no entry is selected by them, and an \
             expectation (-I expect) has none",
        ));
    }
    Ok(())
}

fn target(parsed: &Parsed) -> TargetArgs {
    TargetArgs {
        buffer_size: parsed
            .values
            .buffer_size
            .map(|size| u32::try_from(size).unwrap_or(u32::MAX)),
        netns: None,
    }
}

fn family_arg(family: Option<Family>) -> Option<FamilyArg> {
    family.and_then(|family| match family {
        Family::Ipv4 => Some(FamilyArg::Ipv4),
        Family::Ipv6 => Some(FamilyArg::Ipv6),
        Family::Other(_) => None,
    })
}

fn output_args(parsed: &Parsed) -> OutputArgs {
    let bits = parsed.values.output;
    let words = [
        (output::EXTENDED, OutputOption::Extended),
        (output::ID, OutputOption::Id),
        (output::TIMESTAMP, OutputOption::Timestamp),
        (output::KTIMESTAMP, OutputOption::Ktimestamp),
        (output::LABELS, OutputOption::Labels),
        (output::XML, OutputOption::Xml),
        (output::SAVE, OutputOption::Save),
    ];
    OutputArgs {
        output: words
            .into_iter()
            .filter(|(b, _)| bits & b != 0)
            .map(|(_, option)| option)
            .collect(),
        columns: None,
        color: None,
        quiet: false,
    }
}

/// The tuple conntrack's options gave, as ct's tuple arguments.
fn tuple_args(parsed: &Parsed) -> TupleArgs {
    let v = &parsed.values;
    let gre = parsed.handler == Some(Handler::Gre);
    let ports = |value: Option<u16>| if gre { None } else { value };
    let keys = |value: Option<u16>| if gre { value } else { None };
    TupleArgs {
        proto: parsed.protonum.into_iter().collect(),
        family: family_arg(parsed.family.filter(|_| has(parsed, bit::FAMILY))),
        src: v.orig_src,
        dst: v.orig_dst,
        reply_src: v.reply_src.map(AddrMatch::exact),
        reply_dst: v.reply_dst.map(AddrMatch::exact),
        sport: ports(v.sport),
        dport: ports(v.dport),
        reply_port_src: ports(v.reply_sport),
        reply_port_dst: ports(v.reply_dport),
        srckey: keys(v.sport),
        dstkey: keys(v.dport),
        reply_key_src: keys(v.reply_sport),
        reply_key_dst: keys(v.reply_dport),
        icmp_type: v.icmp_type,
        icmp_code: v.icmp_code,
        icmp_id: v.icmp_id,
        zone: v.zone,
        orig_zone: v.orig_zone,
        reply_zone: v.reply_zone,
    }
}

fn filter_args(parsed: &Parsed) -> FilterArgs {
    let v = &parsed.values;
    FilterArgs {
        tuple: tuple_args(parsed),
        mask_src: v.mask_src.filter(|_| has(parsed, bit::MASK_SRC)),
        mask_dst: v.mask_dst.filter(|_| has(parsed, bit::MASK_DST)),
        addr: None,
        port: None,
        state: v
            .state
            .and_then(|state| state_name(parsed.handler, state))
            .map(str::to_string)
            .into_iter()
            .collect(),
        mark: v.mark,
        status: v.status.into_iter().collect(),
        src_nat: v.src_nat,
        dst_nat: v.dst_nat,
        any_nat: v.any_nat,
        helper: None,
        label: v.labels.clone(),
        id: v.id.filter(|_| has(parsed, bit::ID)),
    }
}

/// The name ct's filter knows a state number by.
fn state_name(handler: Option<Handler>, state: u8) -> Option<&'static str> {
    use crate::kernel::{DCCP_CONNTRACK_NAMES, SCTP_CONNTRACK_NAMES, TCP_CONNTRACK_NAMES};
    const TCP: &[&str] = &TCP_CONNTRACK_NAMES;
    const SCTP: &[&str] = &SCTP_CONNTRACK_NAMES;
    const DCCP: &[&str] = &DCCP_CONNTRACK_NAMES;
    let names = match handler? {
        Handler::Tcp => TCP,
        Handler::Sctp => SCTP,
        Handler::Dccp => DCCP,
        _ => return None,
    };
    names.get(usize::from(state)).copied()
}

fn no_input() -> InputArgs {
    InputArgs { input: None }
}

fn own_namespace() -> AllNetnsArgs {
    AllNetnsArgs { all_netns: false }
}

fn plan_failure(err: UsageError) -> Failure {
    Failure::parameter(err.0)
}

fn list(parsed: &Parsed) -> Result<anyhow::Result<()>, Failure> {
    let table = parsed.table;
    if parsed.command == Some(Command::List) && !matches!(table, Table::Dying | Table::Unconfirmed)
    {
        let comparison = [
            bit::PROTO,
            bit::SRC,
            bit::DST,
            bit::REPLY_SRC,
            bit::REPLY_DST,
            bit::MARK,
            bit::SECMARK,
            bit::STATUS,
            bit::ID,
            bit::ZONE,
            bit::LABEL,
            bit::ORIG_ZONE,
            bit::REPLY_ZONE,
        ];
        if has(parsed, bit::ZERO) && comparison.iter().any(|&b| has(parsed, b)) {
            return Err(Failure::parameter("Can't use -z with filtering parameters"));
        }
        check_masks(parsed)?;
    }
    refuse_unsupported(parsed)?;
    let args = ListArgs {
        table,
        output: output_args(parsed),
        filter: filter_args(parsed),
        input: no_input(),
        all: own_namespace(),
        target: target(parsed),
        // conntrack takes -z with any table and zeroes only the conntrack table's.
        zero: has(parsed, bit::ZERO) && table == Table::Conntrack,
    };
    let plan = plan::List::from_args(&args, &Environment::current()).map_err(plan_failure)?;
    Ok(commands::list::run(plan))
}

fn get(parsed: &Parsed) -> Result<anyhow::Result<()>, Failure> {
    refuse_unsupported(parsed)?;
    let args = GetArgs {
        table: Table::Conntrack,
        output: output_args(parsed),
        tuple: tuple_args(parsed),
        id: parsed.values.id.filter(|_| has(parsed, bit::ID)),
        target: target(parsed),
    };
    let plan = plan::Get::from_args(&args, &Environment::current()).map_err(plan_failure)?;
    Ok(commands::get::run(plan))
}

/// `-G expect`: the expectation a connection of the -s/-d/-p tuple would match, printed
/// as `-L expect` prints it, with no summary; none is conntrack's "Operation failed: No
/// such file or directory", exit 1. conntrack sends the tuple as the master
/// (CTA_EXPECT_MASTER), which the kernel, given no CTA_EXPECT_TUPLE, looks up as the
/// expected tuple: ct get expect's lookup. It takes the reply's addresses and ports
/// (requiring the ports) and sends neither; an ICMP tuple goes with the type, code and
/// id left out as 0.
fn get_expect(parsed: &Parsed) -> Result<u8, Failure> {
    let mut tuple = tuple_args(parsed);
    tuple.reply_src = None;
    tuple.reply_dst = None;
    tuple.reply_port_src = None;
    tuple.reply_port_dst = None;
    tuple.reply_key_src = None;
    tuple.reply_key_dst = None;
    if matches!(parsed.handler, Some(Handler::Icmp | Handler::Icmpv6)) {
        tuple.icmp_type = tuple.icmp_type.or(Some(0));
        tuple.icmp_code = tuple.icmp_code.or(Some(0));
        tuple.icmp_id = tuple.icmp_id.or(Some(0));
    }
    let mut output = output_args(parsed);
    output.quiet = true;
    let args = GetArgs {
        table: Table::Expect,
        output,
        tuple,
        id: None,
        target: target(parsed),
    };
    let plan = plan::GetExpect::from_args(&args, &Environment::current()).map_err(plan_failure)?;
    match commands::get::print_expectation(&plan) {
        Ok(()) => Ok(0),
        Err(err) if commands::is_broken_pipe(&err) => Ok(0),
        Err(err) => match crate::netlink::kernel_errno(&err) {
            Some(errno) => Err(operation_failed(Command::ExpGet, errno)),
            None => Err(Failure::other(format!("{err:#}"))),
        },
    }
}

fn delete(parsed: &Parsed, quiet: bool) -> Result<anyhow::Result<()>, Failure> {
    check_masks(parsed)?;
    refuse_unsupported(parsed)?;
    let mut output = output_args(parsed);
    output.quiet = quiet;
    let args = DeleteArgs {
        table: parsed.table,
        delete: DeleteModeArgs {
            dry_run: false,
            per_entry: true,
            one_request: false,
        },
        output,
        filter: filter_args(parsed),
        target: target(parsed),
    };
    let plan = plan::Delete::from_args(&args, &Environment::current()).map_err(plan_failure)?;
    Ok(commands::delete::run(plan))
}

fn flush(parsed: &Parsed) -> Result<anyhow::Result<()>, Failure> {
    let args = FlushArgs {
        table: parsed.table,
        family: family_arg(parsed.family.filter(|_| has(parsed, bit::FAMILY))),
        delete: DeleteModeArgs {
            dry_run: false,
            per_entry: false,
            one_request: false,
        },
        output: output_args(parsed),
        target: target(parsed),
    };
    let plan = plan::Flush::from_args(&args, &Environment::current()).map_err(plan_failure)?;
    Ok(commands::delete::flush(plan))
}

fn watch(parsed: &Parsed) -> Result<anyhow::Result<()>, Failure> {
    check_masks(parsed)?;
    refuse_unsupported(parsed)?;
    let mask = parsed.values.events;
    let events = if mask == 0 || mask == events::ALL {
        Vec::new()
    } else {
        [
            (events::NEW, EventArg::New),
            (events::UPDATES, EventArg::Update),
            (events::DESTROY, EventArg::Destroy),
        ]
        .into_iter()
        .filter(|(b, _)| mask & b != 0)
        .map(|(_, event)| event)
        .collect()
    };
    let args = WatchArgs {
        table: parsed.table,
        events,
        count: None,
        duration: None,
        reliable: false,
        no_kernel_filter: false,
        output: output_args(parsed),
        filter: filter_args(parsed),
        all: own_namespace(),
        target: target(parsed),
    };
    let plan = plan::Watch::from_args(&args, &Environment::current()).map_err(plan_failure)?;
    Ok(commands::watch::run(plan))
}

fn count(parsed: &Parsed) -> Result<anyhow::Result<()>, Failure> {
    let args = CountArgs {
        table: parsed.table,
        filter: filter_args(parsed),
        input: no_input(),
        all: own_namespace(),
        target: target(parsed),
    };
    let plan = plan::Count::from_args(&args).map_err(plan_failure)?;
    Ok(commands::count::run(plan))
}

fn stats(parsed: &Parsed) -> Result<anyhow::Result<()>, Failure> {
    let args = StatsArgs {
        table: parsed.table,
        output: None,
        all: own_namespace(),
        target: target(parsed),
    };
    let plan = plan::Stats::from_args(&args).map_err(plan_failure)?;
    Ok(commands::stats::run(plan))
}
