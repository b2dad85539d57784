//! conntrack-tools 1.4.7's own testsuite (the 11 files vendored unmodified under
//! tests/conntrack-testsuite/testsuite, see the NOTICE beside them) run against
//! ct-as-conntrack and the real conntrack side by side.
//!
//! The commands are built from each file exactly as the suite's runner
//! (tests/conntrack/test-conntrack.c) builds them, with `conntrack` as its program: lines
//! starting with `#` or a space are skipped, the text before the first `;` is the
//! command, the first character after it (blanks skipped) is the kind: `O`(K) expects
//! exit 0, anything else (`B`AD) a non-zero exit, `|` pipes the command into the next
//! one (through `sed "EXPR"` when text follows), and nothing (the line ends after the
//! `;`) makes the line a line of stdin, consecutive ones joined into `echo "..." | `
//! before the next command.
//!
//! Each file runs in twin throwaway namespaces, each line with `sh -c` in both at once:
//! in one `conntrack` is the real conntrack, in the other a symlink named `conntrack` to
//! the binary under test (`ct_bin()`, `CT_TEST_BIN` overrides), each from a temporary
//! directory first on a PATH otherwise holding only the system's program directories,
//! with no other environment and no connlabel.conf (the host's /etc/protocols is still
//! what names `-p igmp`, for both). Per line, the real conntrack must meet the file's
//! expectation and the other side must exit with the real conntrack's exit code; after
//! every line and at the end of each file both tables (`conntrack -L`, each listed by
//! the real conntrack, TTLs normalised, sorted) must be the same: the suite's files
//! delete what they make, so the end alone would compare empty tables. Every difference
//! is reported per file, a table's where it starts; the differences ct makes on purpose
//! are listed in `ON_PURPOSE` with their reason, and an entry there that no longer
//! differs fails too.
//!
//! `a_side_that_differs_is_reported` proves the runner catches each kind of difference;
//! `ct_as_conntrack_against_conntrack` is the comparison itself. (The real conntrack
//! against itself once proved the runner finds nothing where nothing differs; the ct
//! side, equal on all 286 lines, proves that too, and the run cost 15 s of CI.)

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Netns, ct_bin, find_program, normalise, run_timeout};

/// Where the vendored suite lives.
fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conntrack-testsuite/testsuite")
}

/// The longest line `fgets` reads whole into the runner's 1024-byte buffer.
const RUNNER_LINE_MAX: usize = 1023;

/// No command of the suite takes this long; one that does is killed and fails the test.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// What ct-as-conntrack does differently from conntrack 1.4.7 on purpose (where ct fixes
/// a documented conntrack bug), each with its reason. Every other difference fails the
/// test, and so does an entry here that no longer differs.
const ON_PURPOSE: &[OnPurpose] = &[];

/// A line (or a file's final table) where ct differs from conntrack on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OnPurpose {
    file: &'static str,
    at: At,
    reason: &'static str,
}

/// Where in a file a difference is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum At {
    /// The command executed at this line (1-based, the line holding its `OK`/`BAD`).
    Line(usize),
    /// The table at the end of the file.
    Table,
}

/// One command the runner executes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    /// The line whose kind ran it (1-based).
    line: usize,
    /// The shell command, as the runner hands it to system().
    command: String,
    /// `OK` (exit 0 expected) rather than `BAD` (a non-zero exit expected).
    expect_ok: bool,
}

/// The commands of one file, built as test-conntrack.c builds them with `CT_PROG`
/// `conntrack`. A file the runner would refuse (a line without `;`, one longer than its
/// buffer) or one that leaves a command unfinished at its end is an error.
fn parse(name: &str, text: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut buf = String::new();
    let mut in_stdin = false;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line = i + 1;
        if raw.len() > RUNNER_LINE_MAX {
            return Err(format!(
                "{name}:{line}: longer than the runner's line buffer"
            ));
        }
        if raw.starts_with('#') || raw.starts_with(' ') {
            continue;
        }
        let Some(semi) = raw.find(';') else {
            return Err(format!("{name}:{line}: malformed (no `;`)"));
        };
        let before = &raw[..semi];
        let after = raw[semi + 1..].trim_start_matches([' ', '\t']);
        // The kind is one character, '\n' for a stdin line; None where the C runner
        // reads the string's terminating NUL (a last line without a newline).
        let kind = after.chars().next();
        let option = after
            .get(kind.map_or(0, char::len_utf8)..)
            .unwrap_or("")
            .trim_start_matches([' ', '\t']);
        let option = option.split('\n').next().unwrap_or("");
        let stdin_line = kind == Some('\n');
        if in_stdin && !stdin_line {
            buf.push_str("\" | ");
            in_stdin = false;
        }
        if stdin_line {
            if in_stdin {
                buf.push('\n');
            } else {
                buf.push_str("echo \"");
                in_stdin = true;
            }
            buf.push_str(before);
            continue;
        }
        buf.push_str("conntrack ");
        buf.push_str(before);
        if kind == Some('|') {
            buf.push_str(" | ");
            if !option.is_empty() {
                buf.push_str("sed \"");
                buf.push_str(option);
                buf.push_str("\" | ");
            }
            continue;
        }
        steps.push(Step {
            line,
            command: std::mem::take(&mut buf),
            expect_ok: kind == Some('O'),
        });
    }
    if !buf.is_empty() {
        return Err(format!(
            "{name}: ends inside a command (stdin lines or a pipe with no command after them)"
        ));
    }
    Ok(steps)
}

/// The suite's files in the runner's order (scandir's alphasort, dot files skipped),
/// each with its commands.
fn suite() -> Vec<(String, Vec<Step>)> {
    let dir = suite_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(&name))
                .unwrap_or_else(|e| panic!("reading {name}: {e}"));
            let steps = parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
            (name, steps)
        })
        .collect()
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A temporary directory holding only `conntrack`, a symlink to the program a side
/// runs under that name; removed on drop.
struct ProgramDir {
    path: PathBuf,
}

impl ProgramDir {
    fn new(program: &Path) -> ProgramDir {
        let path = std::env::temp_dir().join(format!(
            "ct-test-suite-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        std::os::unix::fs::symlink(program, path.join("conntrack")).unwrap();
        ProgramDir { path }
    }
}

impl Drop for ProgramDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One side of the comparison: a namespace of its own and the `conntrack` its lines run.
struct Side {
    ns: Netns,
    programs: ProgramDir,
}

impl Side {
    fn new(program: &Path) -> Side {
        Side {
            ns: Netns::new(),
            programs: ProgramDir::new(program),
        }
    }

    /// Runs one command of the suite with `sh -c` in the namespace, `conntrack`
    /// resolving to this side's program, with nothing of the caller's environment but
    /// this PATH; then lists the table with the real conntrack in the same shell.
    fn step(&self, command: &str, real: &Path) -> StepRun {
        let mut cmd = self.ns.exec_cmd(&[
            "sh",
            "-c",
            LIST_AFTER,
            "runner",
            command,
            real.to_str().unwrap(),
        ]);
        cmd.env_clear().env(
            "PATH",
            format!(
                "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                self.programs.path.display()
            ),
        );
        let out = run_timeout(&mut cmd, STEP_TIMEOUT);
        let mut table: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(normalise)
            .collect();
        table.sort();
        StepRun { out, table }
    }
}

/// The shell around each command: the command as the runner's system() runs it (its
/// stdout, which the runner does not look at, discarded), then the table listed by the
/// real conntrack (`$2`) on stdout, a failed listing as a line starting with `!`; the
/// exit code is the command's.
const LIST_AFTER: &str = "sh -c \"$1\" >/dev/null; rc=$?; \
                          \"$2\" -L 2>/dev/null || echo \"! conntrack -L exited $?\"; exit $rc";

/// What one command did on one side.
struct StepRun {
    /// Its exit status and stderr (stdout holds the table).
    out: Output,
    /// The table after it, TTLs normalised, sorted.
    table: Vec<String>,
}

/// A difference found in one file.
#[derive(Debug)]
struct Difference {
    at: At,
    what: String,
}

/// What running one file found.
struct FileRun {
    executed: usize,
    /// Entries in the real side's table at the end.
    entries_left: usize,
    differences: Vec<Difference>,
}

/// The exit code as `sh` reports it.
fn code(out: &Output) -> String {
    out.status
        .code()
        .map_or_else(|| out.status.to_string(), |c| c.to_string())
}

fn quoted_stderr(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let text = text.trim_end();
    if text.is_empty() {
        "(nothing)".to_string()
    } else {
        text.replace('\n', "\n        ")
    }
}

/// What differs between the two tables, or None.
fn table_difference(real: &[String], other: &[String]) -> Option<String> {
    let failed: Vec<&String> = real
        .iter()
        .chain(other)
        .filter(|l| l.starts_with('!'))
        .collect();
    if !failed.is_empty() {
        return Some(format!("    cannot list the tables: {failed:?}\n"));
    }
    if real == other {
        return None;
    }
    let mut what = String::new();
    for l in other.iter().filter(|l| !real.contains(l)) {
        let _ = writeln!(what, "    only under test: {l}");
    }
    for l in real.iter().filter(|l| !other.contains(l)) {
        let _ = writeln!(what, "    only real:       {l}");
    }
    Some(what)
}

/// Runs one file's commands in both sides, line by line, both sides at once. A line
/// differs when its exit code does, or when the tables differ after it and did not
/// before it (a difference is reported where it starts).
fn run_file(steps: &[Step], real: &Path, other: &Path) -> FileRun {
    let real_side = Side::new(real);
    let other_side = Side::new(other);
    let mut differences = Vec::new();
    let mut tables_equal = true;
    let mut last: Option<(StepRun, StepRun)> = None;
    for step in steps {
        let (r, o) = std::thread::scope(|s| {
            let r = s.spawn(|| real_side.step(&step.command, real));
            let o = s.spawn(|| other_side.step(&step.command, real));
            (r.join().unwrap(), o.join().unwrap())
        });
        let mut what = String::new();
        if r.out.status.success() != step.expect_ok {
            let _ = writeln!(
                what,
                "the real conntrack exited {}, the file expects {}",
                code(&r.out),
                if step.expect_ok { "OK" } else { "BAD" }
            );
        }
        if o.out.status.code() != r.out.status.code() {
            let _ = writeln!(
                what,
                "exit {} under test, {} from the real conntrack",
                code(&o.out),
                code(&r.out)
            );
        }
        let tables = table_difference(&r.table, &o.table);
        if let (Some(t), true) = (&tables, tables_equal) {
            let _ = write!(what, "the tables differ after it:\n{t}");
        }
        tables_equal = tables.is_none();
        if !what.is_empty() {
            let _ = write!(
                what,
                "    under test, stderr: {}\n    real,       stderr: {}\n",
                quoted_stderr(&o.out),
                quoted_stderr(&r.out)
            );
            differences.push(Difference {
                at: At::Line(step.line),
                what: format!("`{}`: {what}", step.command.replace('\n', "\\n")),
            });
        }
        last = Some((r, o));
    }
    let mut entries_left = 0;
    if let Some((r, o)) = last {
        entries_left = r.table.len();
        if let Some(t) = table_difference(&r.table, &o.table) {
            differences.push(Difference {
                at: At::Table,
                what: format!("the tables differ:\n{t}"),
            });
        }
    }
    FileRun {
        executed: steps.len(),
        entries_left,
        differences,
    }
}

/// One file's differences held against `on_purpose`: a line for each one listed there,
/// with its reason, and the report of those that are not and of the entries that did not
/// differ.
fn judge(file: &str, differences: &[Difference], on_purpose: &[OnPurpose]) -> (String, String) {
    let expected: Vec<At> = on_purpose
        .iter()
        .filter(|p| p.file == file)
        .map(|p| p.at)
        .collect();
    let mut report = String::new();
    let mut meant = String::new();
    for d in differences {
        if let Some(p) = on_purpose.iter().find(|p| p.file == file && p.at == d.at) {
            let _ = writeln!(meant, "  {:?} differs on purpose: {}", d.at, p.reason);
        } else {
            let at = match d.at {
                At::Line(n) => format!("line {n}"),
                At::Table => "end of file".to_string(),
            };
            let _ = write!(report, "  {at}: {}", d.what);
        }
    }
    for at in expected {
        if !differences.iter().any(|d| d.at == at) {
            let _ = writeln!(
                report,
                "  {at:?}: listed in ON_PURPOSE but does not differ any more: remove it"
            );
        }
    }
    (meant, report)
}

/// Runs the whole suite with `other` against the real conntrack. Returns the number of
/// commands executed per file, or the report of every difference `on_purpose` does not
/// list and every entry of it that did not differ.
fn run_suite(real: &Path, other: &Path, on_purpose: &[OnPurpose]) -> Result<Vec<usize>, String> {
    let started = Instant::now();
    let mut report = String::new();
    let mut counts = Vec::new();
    let suite = suite();
    // The files are independent (twin namespaces each): a few run at once, most of a
    // command's time being the kernel's and the process start's.
    let next = AtomicUsize::new(0);
    let mut runs: Vec<Option<FileRun>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..FILES_AT_ONCE)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some((_, steps)) = suite.get(i) else {
                            return done;
                        };
                        done.push((i, run_file(steps, real, other)));
                    }
                })
            })
            .collect();
        let mut runs: Vec<Option<FileRun>> = suite.iter().map(|_| None).collect();
        for w in workers {
            for (i, run) in w.join().unwrap() {
                runs[i] = Some(run);
            }
        }
        runs
    });
    for ((name, _), run) in suite.iter().zip(runs.iter_mut()) {
        let run = run.take().unwrap();
        counts.push(run.executed);
        let (meant, file_report) = judge(name, &run.differences, on_purpose);
        eprint!(
            "{name}: {} commands, {} entries left, {} differences ({} on purpose)\n{meant}",
            run.executed,
            run.entries_left,
            run.differences.len(),
            meant.lines().count(),
        );
        if !file_report.is_empty() {
            let _ = write!(report, "{name}:\n{file_report}");
        }
    }
    eprintln!(
        "conntrack testsuite: {} commands per side in {:.1?}",
        counts.iter().sum::<usize>(),
        started.elapsed()
    );
    if report.is_empty() {
        Ok(counts)
    } else {
        Err(report)
    }
}

fn real_conntrack() -> PathBuf {
    find_program("conntrack").expect("conntrack is installed (require_kernel! checked)")
}

/// How many of the suite's files run at once.
const FILES_AT_ONCE: usize = 3;

/// How many commands each file runs (the runner's `OK: 286 BAD: 0` with conntrack 1.4.7).
const COMMANDS_PER_FILE: [usize; 11] = [37, 19, 19, 24, 12, 18, 4, 28, 28, 76, 21];

#[test]
fn the_commands_are_built_as_test_conntrack_c_builds_them() {
    let suite = suite();
    let names: Vec<&str> = suite.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "00create",
            "01delete",
            "02filter",
            "03nat",
            "04zone",
            "05mark",
            "06update",
            "07nat6",
            "08stdin",
            "09dumpopt",
            "10add"
        ]
    );
    let counts: Vec<usize> = suite.iter().map(|(_, s)| s.len()).collect();
    assert_eq!(counts, COMMANDS_PER_FILE);
    let step = |file: &str, line: usize| {
        let (_, steps) = suite.iter().find(|(n, _)| n == file).unwrap();
        steps.iter().find(|s| s.line == line).unwrap().clone()
    };
    assert_eq!(
        step("00create", 2),
        Step {
            line: 2,
            command: "conntrack -I -s 1.1.1.1 -p tcp --sport 10 --dport 20 --state LISTEN \
                      -u SEEN_REPLY -t 50 "
                .to_string(),
            expect_ok: false,
        }
    );
    assert_eq!(
        step("09dumpopt", 14),
        Step {
            line: 14,
            command: "conntrack -L -w 10 -o save -f ipv4  | sed \"s/-w 10/-w 11/g\" | \
                      conntrack -R - "
                .to_string(),
            expect_ok: true,
        }
    );
    // Stdin lines, the empty one and the tab-only ones kept, the space-led ones skipped.
    assert_eq!(
        step("08stdin", 50).command,
        "echo \"-D -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 10 --dport 20 \n\n\n\
         -D -r 2.2.2.2 -q 1.1.1.1 -p tcp --reply-port-src 11 --reply-port-dst 21 \n\
         \t\n\t\t\n\t    \n\t    \t    \t\n\
         -D -s 2001:DB8::1.1.1.1 -d 2001:DB8::2.2.2.2 -p tcp --sport 10 --dport 20 \n\
         -D -u SEEN_REPLY -s 1.1.1.1 -d 2.2.2.2 -r 2.2.2.2 -q 1.1.1.1 -p icmp --icmp-type 8 \
         --icmp-code 0 --icmp-id 1226 \n\n\" | conntrack -R - "
    );
    assert_eq!(
        parse("t", "-A x ;\n\n\t;\n;\n -skipped ;\n-R - ; OK\n-L ; BAD\n"),
        Err("t:2: malformed (no `;`)".to_string())
    );
    assert_eq!(
        parse("t", "-A x ;\n\t;\n;\n -skipped ;\n-R - ; OK\n-L ; X\n"),
        Ok(vec![
            Step {
                line: 5,
                command: "echo \"-A x \n\t\n\" | conntrack -R - ".to_string(),
                expect_ok: true,
            },
            Step {
                line: 6,
                command: "conntrack -L ".to_string(),
                expect_ok: false,
            },
        ])
    );
    assert!(parse("t", "-L ; |\n").is_err());
}

#[test]
fn the_differences_meant_are_exactly_those_listed() {
    let on_purpose = [
        OnPurpose {
            file: "05mark",
            at: At::Line(7),
            reason: "a fix",
        },
        OnPurpose {
            file: "05mark",
            at: At::Table,
            reason: "the fix's entry",
        },
        OnPurpose {
            file: "00create",
            at: At::Line(9),
            reason: "another file's",
        },
    ];
    let differences = |at: &[At]| -> Vec<Difference> {
        at.iter()
            .map(|&at| Difference {
                at,
                what: format!("{at:?} differs\n"),
            })
            .collect()
    };
    assert_eq!(
        judge(
            "05mark",
            &differences(&[At::Line(7), At::Table]),
            &on_purpose
        ),
        (
            "  Line(7) differs on purpose: a fix\n  \
             Table differs on purpose: the fix's entry\n"
                .to_string(),
            String::new()
        )
    );
    assert_eq!(
        judge(
            "05mark",
            &differences(&[At::Line(3), At::Line(9), At::Table]),
            &on_purpose
        ),
        (
            "  Table differs on purpose: the fix's entry\n".to_string(),
            "  line 3: Line(3) differs\n  line 9: Line(9) differs\n  \
             Line(7): listed in ON_PURPOSE but does not differ any more: remove it\n"
                .to_string()
        )
    );
    assert_eq!(
        judge("01delete", &differences(&[]), &on_purpose),
        (String::new(), String::new())
    );
}

/// A side whose `conntrack` does nothing and succeeds is caught on every BAD line and
/// by the table an OK line left on the real side.
#[test]
fn a_side_that_differs_is_reported() {
    require_kernel!();
    let real = real_conntrack();
    let steps = parse(
        "t",
        "-I -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 10 --dport 20 --state LISTEN -u SEEN_REPLY \
         -t 50 ; OK\n-D -w 77 ; BAD\n",
    )
    .unwrap();
    let run = run_file(&steps, &real, Path::new("/bin/true"));
    let entry = "tcp      6 <TTL> SYN_SENT2 src=1.1.1.1 dst=2.2.2.2 sport=10 dport=20 \
                 src=2.2.2.2 dst=1.1.1.1 sport=20 dport=10 mark=0 use=1";
    let found: Vec<(At, &str)> = run
        .differences
        .iter()
        .map(|d| (d.at, d.what.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                At::Line(1),
                format!(
                    "`conntrack -I -s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 10 --dport 20 \
                     --state LISTEN -u SEEN_REPLY -t 50 `: the tables differ after it:\n    \
                     only real:       {entry}\n    \
                     under test, stderr: (nothing)\n    \
                     real,       stderr: conntrack v1.4.7 (conntrack-tools): \
                     1 flow entries have been created.\n"
                )
                .as_str()
            ),
            (
                At::Line(2),
                "`conntrack -D -w 77 `: exit 0 under test, 1 from the real conntrack\n    \
                 under test, stderr: (nothing)\n    \
                 real,       stderr: conntrack v1.4.7 (conntrack-tools): \
                 0 flow entries have been deleted.\n"
            ),
            (
                At::Table,
                format!("the tables differ:\n    only real:       {entry}\n").as_str()
            ),
        ]
    );
    assert_eq!((run.executed, run.entries_left), (2, 1));
}

/// ct run as `conntrack` against conntrack 1.4.7, line by line and table by table.
/// `CT_REQUIRE_KERNEL_TESTS=1 cargo test --test kernel conntrack_testsuite::
/// -- --nocapture` prints each file's count and differing lines.
#[test]
fn ct_as_conntrack_against_conntrack() {
    require_kernel!();
    let real = real_conntrack();
    let ct = PathBuf::from(ct_bin());
    match run_suite(&real, &ct, ON_PURPOSE) {
        Ok(counts) => assert_eq!(counts, COMMANDS_PER_FILE),
        Err(report) => panic!("ct-as-conntrack differs from conntrack 1.4.7:\n{report}"),
    }
}
