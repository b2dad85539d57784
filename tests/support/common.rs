//! Shared helpers for the kernel integration tests.
//!
//! Everything here talks to the real kernel: network namespaces (`ip netns`),
//! conntrack entries (`conntrack -I`), nftables rulesets and real traffic
//! between three namespaces.  All of it stays inside namespaces created by
//! these helpers (named `ct-test-<pid>-<n>`), which are deleted again on drop.
//!
//! Needs root and the Debian packages `iproute2`, `conntrack`, `nftables`.
//! Traffic is generated in-process (sockets opened in a thread that did `setns`,
//! `Netns::run_in`), so no ping/socat/python is needed.
//!
//! Hermetic: every `conntrack` and `ct` the helpers run (`Netns::exec*`, `Env`,
//! `ct_command`) sees an `/etc/xtables` of the test's choosing, with its own label map
//! or with no connlabel.conf at all, never the host's (see `Xtables`).
//!
//! Environment:
//! - `CT_REQUIRE_KERNEL_TESTS=1`: a test that cannot run panics instead of
//!   printing `skipped: ...` (CI sets it so that green means "ran").
//! - `CT_TEST_BIN=/path`: use this binary instead of the `ct` built by cargo
//!   (e.g. `tests/support/fake-ct.sh`, a conntrack wrapper, to validate the
//!   harness itself).

pub mod events;
pub mod expectations;
pub mod shapes;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Default limit for any external command run by the helpers.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(30);
/// Socket operations in the traffic generators.
pub const NET_TIMEOUT: Duration = Duration::from_secs(5);

/// Label map used by the label tests (`/etc/xtables/connlabel.conf` format).
/// Bit 3 is deliberately left unnamed.
pub const LABEL_MAP: &str = "0 zero\n1 one\n5 five\n";

/// The label map the insert helpers use when the listing map is `LABEL_MAP`: it also
/// names bits 3 and 127, which `LABEL_MAP` leaves unnamed, so that ct must print them as
/// numbers.
pub const FULL_LABEL_MAP: &str = "0 zero\n1 one\n3 three\n5 five\n127 top\n";

/// TCP state names by number (TCP_CONNTRACK_*), as conntrack prints them.
pub const TCP_STATE_NAMES: [&str; 10] = [
    "NONE",
    "SYN_SENT",
    "SYN_RECV",
    "ESTABLISHED",
    "FIN_WAIT",
    "CLOSE_WAIT",
    "LAST_ACK",
    "TIME_WAIT",
    "CLOSE",
    "SYN_SENT2",
];

/// SCTP state names by number (SCTP_CONNTRACK_*), as conntrack prints them.
pub const SCTP_STATE_NAMES: [&str; 10] = [
    "NONE",
    "CLOSED",
    "COOKIE_WAIT",
    "COOKIE_ECHOED",
    "ESTABLISHED",
    "SHUTDOWN_SENT",
    "SHUTDOWN_RECD",
    "SHUTDOWN_ACK_SENT",
    "HEARTBEAT_SENT",
    "HEARTBEAT_ACKED",
];

/// TCP state names `conntrack -I --state` accepts: every state, and LISTEN, its old name
/// for SYN_SENT2.
pub const TCP_STATES: [&str; 11] = with_listen(TCP_STATE_NAMES);

/// SCTP state names `conntrack -I --state` can make. HEARTBEAT_SENT and HEARTBEAT_ACKED
/// are left out: `conntrack -I --state HEARTBEAT_*` segfaults in conntrack 1.4.7. DCCP is
/// left out too: the test kernels have no DCCP tracker.
/// DCCP state names by number, as conntrack prints them.
pub const DCCP_STATE_NAMES: [&str; 10] = [
    "NONE", "REQUEST", "RESPOND", "PARTOPEN", "OPEN", "CLOSEREQ", "CLOSING", "TIMEWAIT", "IGNORE",
    "INVALID",
];

pub const SCTP_STATES: &[&str] = SCTP_STATE_NAMES.split_at(8).0;

const fn with_listen(names: [&'static str; 10]) -> [&'static str; 11] {
    let mut all = ["LISTEN"; 11];
    let mut i = 0;
    while i < names.len() {
        all[i] = names[i];
        i += 1;
    }
    all
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn next_id() -> usize {
    COUNTER.fetch_add(1, Ordering::SeqCst)
}

// ---------------------------------------------------------------------------
// Skipping / requiring
// ---------------------------------------------------------------------------

/// `if !kernel_tests_allowed(..) { return; }` at the top of every kernel test; the test
/// then shares the machine (`share_machine`) until it ends.
#[macro_export]
macro_rules! require_kernel {
    () => {
        if !$crate::common::kernel_tests_allowed(concat!(file!(), ":", line!())) {
            return;
        }
        let _machine = $crate::common::share_machine();
    };
}

/// `require_kernel!` for a test that must have the machine to itself (a burst that
/// measures whether ct keeps up): it waits until every other kernel test of this binary
/// has ended and holds the next ones back until it ends.
#[macro_export]
macro_rules! require_kernel_alone {
    () => {
        if !$crate::common::kernel_tests_allowed(concat!(file!(), ":", line!())) {
            return;
        }
        let _machine = $crate::common::take_machine();
    };
}

/// Every kernel test runs in this one process (tests/kernel/main.rs): a test started by
/// `require_kernel!` holds this for reading, one started by `require_kernel_alone!` for
/// writing. A test that failed while holding it does not stop the others.
static MACHINE: RwLock<()> = RwLock::new(());

/// The machine shared with the other kernel tests, until the guard is dropped.
pub fn share_machine() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(PoisonError::into_inner)
}

/// The machine alone, until the guard is dropped.
pub fn take_machine() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(PoisonError::into_inner)
}

/// Look a program up in `$PATH` (plus the sbin directories, which a root
/// shell usually has but a sanitised environment may not).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    for extra in ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        dirs.push(PathBuf::from(extra));
    }
    for d in dirs {
        let p = d.join(name);
        if let Ok(md) = std::fs::metadata(&p) {
            if md.is_file() && md.mode() & 0o111 != 0 {
                return Some(p);
            }
        }
    }
    None
}

fn why_not_allowed() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Some(format!("not running as root (euid {euid})"));
    }
    let missing: Vec<&str> = ["ip", "conntrack", "nft"]
        .into_iter()
        .filter(|p| find_program(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!("missing programs: {}", missing.join(", ")));
    }
    None
}

/// True if kernel tests can run here.  Otherwise prints `skipped: <reason>`
/// to stderr and returns false, or panics if `CT_REQUIRE_KERNEL_TESTS=1`.
pub fn kernel_tests_allowed(ctx: &str) -> bool {
    match why_not_allowed() {
        None => true,
        Some(reason) => {
            if std::env::var("CT_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1") {
                panic!("CT_REQUIRE_KERNEL_TESTS=1 but kernel tests cannot run ({ctx}): {reason}");
            }
            // Straight to the stderr file, not eprintln!: libtest captures the macros'
            // output of passing tests, and a skip must be seen.
            let _ = writeln!(std::io::stderr(), "skipped: {ctx}: {reason}");
            false
        }
    }
}

/// The `ct` binary under test (`CT_TEST_BIN` overrides).
pub fn ct_bin() -> String {
    match std::env::var("CT_TEST_BIN") {
        Ok(p) if !p.is_empty() => p,
        _ => env!("CARGO_BIN_EXE_ct").to_string(),
    }
}

// ---------------------------------------------------------------------------
// Running commands with a deadline
// ---------------------------------------------------------------------------

/// Human readable form of a command, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            s.push_str(&format!(" {a:?}"));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// Run `cmd` (stdin closed, stdout/stderr captured); kill it and panic if it
/// does not finish within `timeout`.
pub fn run_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let what = describe(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"));
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => panic!("waiting for `{what}`: {e}"),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` did not finish within {timeout:?}; killed");
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    };
    let stdout = out_t.join().unwrap();
    let stderr = err_t.join().unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

pub fn run(cmd: &mut Command) -> Output {
    run_timeout(cmd, CMD_TIMEOUT)
}

/// Panic (with stdout/stderr) unless the command exited 0; return stdout.
pub fn check_ok(what: &str, out: &Output) -> String {
    if !out.status.success() {
        panic!(
            "`{what}` failed ({}):\n--- stdout\n{}--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout.clone())
        .unwrap_or_else(|e| panic!("`{what}`: stdout not UTF-8: {e}"))
}

pub fn run_ok(cmd: &mut Command) -> String {
    let what = describe(cmd);
    let out = run(cmd);
    check_ok(&what, &out)
}

fn stdout_str(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is not UTF-8")
}

fn stderr_str(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ---------------------------------------------------------------------------
// A controlled /etc/xtables
// ---------------------------------------------------------------------------

/// What a command run by the tests finds in `/etc/xtables`, where conntrack and ct read
/// `connlabel.conf`: never the host's, so that no test depends on the machine it runs on.
///
/// The command runs in a private mount namespace (entered between fork and exec, so no
/// extra process) in which a prepared directory hides the host's `/etc/xtables`, by a
/// bind mount where the host has that directory and by a read-only overlay of /etc where
/// it has none. Nothing is written to the host's /etc. The prepared directories live
/// under cargo's `CARGO_TARGET_TMPDIR`, one per label map, named by its content.
#[derive(Clone, Copy, Debug)]
pub enum Xtables<'a> {
    /// No connlabel.conf: `/etc/xtables` is an empty directory, or absent if the host
    /// has none.
    Empty,
    /// A `connlabel.conf` holding this text, and nothing else in `/etc/xtables`.
    LabelMap(&'a str),
}

/// How `Xtables::apply` lays the prepared directory over the host's /etc.
enum EtcMount {
    /// Bind this directory onto the host's `/etc/xtables`.
    Bind(std::ffi::CString),
    /// Mount an overlay on /etc with these options (`lowerdir=PREPARED:/etc`).
    Overlay(std::ffi::CString),
}

impl Xtables<'_> {
    /// Makes `cmd` run with this `/etc/xtables`. Only root can mount, so a command run
    /// without root is left as it is: then no kernel test runs, and the tests that do run
    /// (usage errors, help, completions) print no labels.
    pub fn apply(self, cmd: &mut Command) -> &mut Command {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return cmd;
        }
        let host_dir = Path::new("/etc/xtables").is_dir();
        let how = match (self, host_dir) {
            // Nothing to hide, nothing to show.
            (Xtables::Empty, false) => return cmd,
            (_, true) => EtcMount::Bind(c_path(&prepared_etc(self).join("xtables"))),
            (Xtables::LabelMap(_), false) => {
                let etc = prepared_etc(self);
                let options = format!("lowerdir={}:/etc", etc.display());
                EtcMount::Overlay(std::ffi::CString::new(options).unwrap())
            }
        };
        // SAFETY: the hook makes only async-signal-safe system calls (unshare, mount) on
        // strings prepared before the fork.
        unsafe { cmd.pre_exec(move || private_etc(&how)) }
    }
}

/// `cmd` with a controlled `/etc/xtables` and no connlabel.conf (`Xtables::Empty`).
pub fn hermetic(mut cmd: Command) -> Command {
    Xtables::Empty.apply(&mut cmd);
    cmd
}

/// The `ct` under test, to run on the host (`--netns`, or no kernel at all), with no
/// connlabel.conf in sight.
pub fn ct_command() -> Command {
    hermetic(Command::new(ct_bin()))
}

/// In the child, between fork and exec: a mount namespace of its own, its mounts kept
/// from the host's (as `ip netns exec` does), and the prepared /etc/xtables laid over.
fn private_etc(how: &EtcMount) -> std::io::Result<()> {
    let check = |rc: libc::c_int| {
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    let none = std::ptr::null();
    // SAFETY: plain system calls on NUL-terminated strings that outlive them.
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS))?;
        check(libc::mount(
            none,
            c"/".as_ptr(),
            none,
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        ))?;
        match how {
            EtcMount::Bind(dir) => check(libc::mount(
                dir.as_ptr(),
                c"/etc/xtables".as_ptr(),
                none,
                libc::MS_BIND,
                std::ptr::null(),
            )),
            EtcMount::Overlay(options) => check(libc::mount(
                c"ct-test-etc".as_ptr(),
                c"/etc".as_ptr(),
                c"overlay".as_ptr(),
                libc::MS_RDONLY,
                options.as_ptr().cast(),
            )),
        }
    }
}

fn c_path(path: &Path) -> std::ffi::CString {
    std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap()
}

/// A directory holding `xtables/` as `xtables` describes it, made once (by whichever
/// test process gets there first) and kept for later runs.
fn prepared_etc(xtables: Xtables) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ct-test-etc");
    let name = match xtables {
        Xtables::Empty => "empty".to_string(),
        // FNV-1a: stable across runs and toolchains, unlike std's hasher.
        Xtables::LabelMap(map) => format!(
            "map-{:016x}",
            map.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
        ),
    };
    let dir = root.join(&name);
    if !dir.join("xtables").is_dir() {
        let staging = root.join(format!("{name}.{}-{}", std::process::id(), next_id()));
        std::fs::create_dir_all(staging.join("xtables")).unwrap();
        if let Xtables::LabelMap(map) = xtables {
            std::fs::write(staging.join("xtables/connlabel.conf"), map).unwrap();
        }
        // Fails when another test made it first: then that one is used.
        if std::fs::rename(&staging, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
    }
    dir
}

// ---------------------------------------------------------------------------
// Network namespaces
// ---------------------------------------------------------------------------

/// Delete `ct-test-<pid>-*` namespaces left behind by test processes that
/// died without running their destructors (only for pids that are gone).
fn cleanup_stale_namespaces() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(rd) = std::fs::read_dir("/run/netns") else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("ct-test-") else {
                continue;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = run(Command::new("ip").args(["netns", "del", &name]));
            }
        }
    });
}

/// A network namespace `ct-test-<pid>-<n>`, deleted on drop (also on panic).
pub struct Netns {
    name: String,
}

impl Netns {
    pub fn new() -> Netns {
        cleanup_stale_namespaces();
        let name = format!("ct-test-{}-{}", std::process::id(), next_id());
        let out = run(Command::new("ip").args(["netns", "add", &name]));
        if !out.status.success() {
            panic!("ip netns add {name} failed: {}", stderr_str(&out));
        }
        let ns = Netns { name };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/<name>`
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// `ip netns exec NAME args...` (not checked).
    pub fn exec(&self, args: &[&str]) -> Output {
        run(&mut self.exec_cmd(args))
    }

    /// `ip netns exec NAME args...`, seeing an /etc/xtables without connlabel.conf (see
    /// `Xtables`).
    pub fn exec_cmd(&self, args: &[&str]) -> Command {
        self.exec_cmd_with(Xtables::Empty, args)
    }

    /// `ip netns exec NAME args...`, seeing the /etc/xtables `xtables` says.
    pub fn exec_cmd_with(&self, xtables: Xtables, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        xtables.apply(&mut c);
        c
    }

    /// Like `exec`, panicking with stderr on failure; returns stdout.
    pub fn exec_ok(&self, args: &[&str]) -> String {
        let mut c = self.exec_cmd(args);
        run_ok(&mut c)
    }

    /// `ip netns exec NAME sh -c SCRIPT`, panicking with stderr on failure.
    pub fn sh(&self, script: &str) -> String {
        self.exec_ok(&["sh", "-c", script])
    }

    /// Set a sysctl inside the namespace (writes /proc/sys directly, so the
    /// procps `sysctl` program is not needed).
    pub fn sysctl(&self, key: &str, val: &str) {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.exec_ok(&[
            "sh",
            "-c",
            "printf '%s\\n' \"$1\" > \"$2\"",
            "sh",
            val,
            &path,
        ]);
    }

    /// `nft -f -` with the given ruleset, inside the namespace.
    pub fn nft(&self, ruleset: &str) {
        let file = TempFile::new("nft", ruleset);
        self.exec_ok(&["nft", "-f", file.path_str()]);
    }

    /// `conntrack ARGS` inside the namespace, must succeed; returns stdout.
    pub fn conntrack(&self, args: &[&str]) -> String {
        let mut v = vec!["conntrack"];
        v.extend_from_slice(args);
        self.exec_ok(&v)
    }

    /// Insert one entry: `conntrack -I <args split on whitespace>`.
    pub fn insert(&self, args: &str) {
        let mut v = vec!["conntrack", "-I"];
        v.extend(args.split_whitespace());
        self.exec_ok(&v);
    }

    /// Insert many entries at once via `conntrack -R FILE` (one
    /// `-I ...` line per entry).
    pub fn insert_bulk(&self, lines: &[String]) {
        let mut text = String::new();
        for l in lines {
            text.push_str("-I ");
            text.push_str(l);
            text.push('\n');
        }
        let file = TempFile::new("load", &text);
        let out = run_timeout(
            &mut self.exec_cmd(&["conntrack", "-R", file.path_str()]),
            Duration::from_secs(120),
        );
        check_ok("conntrack -R", &out);
    }

    /// Turn on connlabel support in this namespace: the kernel only gives
    /// new entries a label area once something in the netns uses labels, so
    /// add an (unhooked, never run) nft chain with a `ct label set` rule.
    pub fn enable_labels(&self) {
        self.nft("table ip ct_test_labels {\n chain never_run {\n  ct label set 127\n }\n}\n");
    }

    /// Turn on accounting and timestamps (affects entries created afterwards).
    pub fn enable_acct_and_timestamps(&self) {
        self.sysctl("net.netfilter.nf_conntrack_acct", "1");
        self.sysctl("net.netfilter.nf_conntrack_timestamp", "1");
    }

    /// `conntrack -I <args split on whitespace>` with the label map `map` in place, for
    /// entries made with `--label-add`; must succeed.
    pub fn insert_with_labels(&self, map: &str, args: &str) {
        let mut argv = vec!["conntrack", "-I"];
        argv.extend(args.split_whitespace());
        check_ok(
            &format!("conntrack -I {args}"),
            &self.exec_with_labelmap(map, &argv),
        );
    }

    /// Run `argv` inside this namespace with `/etc/xtables/connlabel.conf` = `map` (see
    /// `Xtables`). Nothing is written to the host's /etc.
    pub fn exec_with_labelmap(&self, map: &str, argv: &[&str]) -> Output {
        run(&mut self.exec_cmd_with(Xtables::LabelMap(map), argv))
    }

    /// Run a closure on a thread that has joined this network namespace (setns moves
    /// only the calling thread); sockets it creates belong to the namespace. The one way
    /// the tests enter a namespace in-process.
    pub fn run_in<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let path = self.path();
        std::thread::scope(|s| {
            let h = s.spawn(move || {
                let path = path.to_str().expect("namespace paths are UTF-8");
                ct::netlink::netns::enter(path)
                    .unwrap_or_else(|e| panic!("entering {path}: {e:#}"));
                f()
            });
            match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            }
        })
    }

    /// Inode of the namespace (to check that a process has entered it).
    pub fn inode(&self) -> u64 {
        std::fs::metadata(self.path()).unwrap().ino()
    }

    /// Start `sleep 30` inside the namespace; killed when the guard drops.
    /// Waits until the process really is in the namespace.
    pub fn spawn_sleeper(&self) -> Sleeper {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name, "sleep", "30"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sleeper");
        let s = Sleeper { child };
        let want = self.inode();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // `ip netns exec` execs (no fork), so the pid stays the same.
            if let Ok(md) = std::fs::metadata(format!("/proc/{}/ns/net", s.pid())) {
                if md.ino() == want {
                    // Also wait for the exec of sleep, so that nothing else
                    // (like ip's mount namespace setup) is still running.
                    let comm = std::fs::read_to_string(format!("/proc/{}/comm", s.pid()))
                        .unwrap_or_default();
                    if comm.trim() == "sleep" {
                        break;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "sleeper did not enter {}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        s
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let out = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: ip netns del {} failed: {}",
                self.name,
                stderr_str(&o)
            ),
            Err(e) => eprintln!("warning: ip netns del {}: {e}", self.name),
        }
    }
}

/// A process sleeping inside a namespace (for `--netns <pid>`).
pub struct Sleeper {
    child: Child,
}

impl Sleeper {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A file in the temp dir, removed on drop.
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    pub fn new(tag: &str, contents: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!(
            "ct-test-{tag}-{}-{}",
            std::process::id(),
            next_id()
        ));
        let mut f = File::create(&path).unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        TempFile { path }
    }
    pub fn path_str(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

// ---------------------------------------------------------------------------
// Topology: client <-> router (forwarding + masquerade) <-> server
// ---------------------------------------------------------------------------

pub const CLIENT_V4: &str = "10.200.1.2";
pub const ROUTER_CLIENT_SIDE_V4: &str = "10.200.1.1";
pub const ROUTER_SERVER_SIDE_V4: &str = "10.200.2.1";
pub const SERVER_V4: &str = "10.200.2.2";
pub const CLIENT_V6: &str = "fd00:200:1::2";
pub const ROUTER_CLIENT_SIDE_V6: &str = "fd00:200:1::1";
pub const ROUTER_SERVER_SIDE_V6: &str = "fd00:200:2::1";
pub const SERVER_V6: &str = "fd00:200:2::2";

/// Port on which the server drops SYNs (for SYN_SENT entries).
pub const DROP_PORT: u16 = 9;

/// Three namespaces: client — router — server.  The router forwards,
/// masquerades towards the server, has accounting and timestamps on, long
/// conntrack timeouts (so nothing expires during a test), an FTP helper on
/// tcp/21, a TFTP helper on udp/69, `ct label set 1` on forwarded UDP,
/// `ct label set 3` (unnamed in `LABEL_MAP`) on ICMP, and `ct mark set 42`
/// on tcp/21.
pub struct Topology {
    pub client: Netns,
    pub router: Netns,
    pub server: Netns,
    /// Connections kept open (ESTABLISHED) until the topology is dropped.
    held: Vec<TcpStream>,
}

impl Topology {
    pub fn new() -> Topology {
        let client = Netns::new();
        let router = Netns::new();
        let server = Netns::new();
        for ns in [&client, &router, &server] {
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0");
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0");
        }
        router.sysctl("net.netfilter.nf_conntrack_acct", "1");
        router.sysctl("net.netfilter.nf_conntrack_timestamp", "1");
        for t in [
            "tcp_timeout_syn_sent",
            "tcp_timeout_close",
            "tcp_timeout_time_wait",
            "udp_timeout",
            "udp_timeout_stream",
            "icmp_timeout",
            "icmpv6_timeout",
        ] {
            router.sysctl(&format!("net.netfilter.nf_conntrack_{t}"), "600");
        }
        let (c, s) = (client.name(), server.name());
        router.sh(&format!(
            "set -e
ip link add to-client type veth peer name to-router netns {c}
ip link add to-server type veth peer name to-router netns {s}
ip addr add {ROUTER_CLIENT_SIDE_V4}/24 dev to-client
ip addr add {ROUTER_SERVER_SIDE_V4}/24 dev to-server
ip -6 addr add {ROUTER_CLIENT_SIDE_V6}/64 dev to-client nodad
ip -6 addr add {ROUTER_SERVER_SIDE_V6}/64 dev to-server nodad
ip link set to-client up
ip link set to-server up"
        ));
        router.sysctl("net.ipv4.ip_forward", "1");
        router.sysctl("net.ipv6.conf.all.forwarding", "1");
        client.sh(&format!(
            "set -e
ip addr add {CLIENT_V4}/24 dev to-router
ip -6 addr add {CLIENT_V6}/64 dev to-router nodad
ip link set to-router up
ip route add default via {ROUTER_CLIENT_SIDE_V4}
ip -6 route add default via {ROUTER_CLIENT_SIDE_V6}"
        ));
        server.sh(&format!(
            "set -e
ip addr add {SERVER_V4}/24 dev to-router
ip -6 addr add {SERVER_V6}/64 dev to-router nodad
ip link set to-router up
ip route add default via {ROUTER_SERVER_SIDE_V4}
ip -6 route add default via {ROUTER_SERVER_SIDE_V6}"
        ));
        // ping sockets for root in the client
        client.sysctl("net.ipv4.ping_group_range", "0 0");
        server.nft(&format!(
            "table inet ct_test_filter {{
  chain input {{
    type filter hook input priority filter; policy accept;
    tcp dport {DROP_PORT} drop
  }}
}}
"
        ));
        router.nft(
            r#"table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "to-server" masquerade
  }
}
table ip6 nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "to-server" masquerade
  }
}
table inet ct_test {
  ct helper ftp-h {
    type "ftp" protocol tcp
  }
  ct helper tftp-h {
    type "tftp" protocol udp
  }
  chain prerouting_hook {
    type filter hook prerouting priority filter; policy accept;
    tcp dport 21 ct helper set "ftp-h"
    udp dport 69 ct helper set "tftp-h"
  }
  chain forward_hook {
    type filter hook forward priority filter; policy accept;
    meta l4proto udp ct label set 1
    meta l4proto icmp ct label set 3
    tcp dport 21 ct mark set 42
  }
}
"#,
        );
        Topology {
            client,
            router,
            server,
            held: Vec::new(),
        }
    }

    pub fn server_addr(v6: bool) -> IpAddr {
        if v6 {
            SERVER_V6.parse().unwrap()
        } else {
            SERVER_V4.parse().unwrap()
        }
    }

    /// The unspecified address and port of the family: bind to it for any.
    pub fn any_addr(v6: bool) -> SocketAddr {
        if v6 {
            "[::]:0".parse().unwrap()
        } else {
            "0.0.0.0:0".parse().unwrap()
        }
    }

    fn listen(&self, v6: bool, port: u16) -> TcpListener {
        let addr = SocketAddr::new(Self::server_addr(v6), port);
        self.server
            .run_in(|| TcpListener::bind(addr))
            .unwrap_or_else(|e| panic!("bind {addr}: {e}"))
    }

    fn connect(&self, v6: bool, port: u16) -> std::io::Result<TcpStream> {
        let addr = SocketAddr::new(Self::server_addr(v6), port);
        self.client
            .run_in(|| TcpStream::connect_timeout(&addr, NET_TIMEOUT))
    }

    fn accept(l: &TcpListener) -> TcpStream {
        // The client's connect has completed, so the connection is queued.
        l.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + NET_TIMEOUT;
        loop {
            match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
                    s.set_write_timeout(Some(NET_TIMEOUT)).unwrap();
                    return s;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "accept timed out");
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }

    fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        s.read_exact(&mut buf).expect("read");
        buf
    }

    /// A TCP connection with data both ways, left open (ESTABLISHED).
    pub fn tcp_established(&mut self, v6: bool, port: u16) {
        let l = self.listen(v6, port);
        let mut c = self.connect(v6, port).expect("connect");
        c.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
        let mut s = Self::accept(&l);
        c.write_all(b"hello from the client\n").unwrap();
        assert_eq!(Self::read_exact(&mut s, 22), b"hello from the client\n");
        s.write_all(b"220 hello from the server\r\n").unwrap();
        assert_eq!(
            Self::read_exact(&mut c, 27),
            b"220 hello from the server\r\n"
        );
        self.held.push(c);
        self.held.push(s);
    }

    /// A TCP connection with data, closed by both sides; waits until the
    /// router's entry reaches TIME_WAIT.
    pub fn tcp_time_wait(&mut self, v6: bool, port: u16) {
        let l = self.listen(v6, port);
        let mut c = self.connect(v6, port).expect("connect");
        c.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
        let mut s = Self::accept(&l);
        c.write_all(b"ping").unwrap();
        assert_eq!(Self::read_exact(&mut s, 4), b"ping");
        s.write_all(b"pong").unwrap();
        assert_eq!(Self::read_exact(&mut c, 4), b"pong");
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        drop(s);
        c.read_to_end(&mut rest).unwrap();
        drop(c);
        self.wait_router_state(v6, "tcp", port, "TIME_WAIT");
    }

    /// One SYN that the server drops (router: SYN_SENT [UNREPLIED]).
    pub fn tcp_syn_sent(&self, v6: bool) {
        let addr = SocketAddr::new(Self::server_addr(v6), DROP_PORT);
        let r = self
            .client
            .run_in(|| TcpStream::connect_timeout(&addr, Duration::from_millis(300)));
        assert!(r.is_err(), "connect to the dropped port succeeded");
        self.wait_router_state(v6, "tcp", DROP_PORT, "SYN_SENT");
    }

    /// A connection with data that the client aborts (SO_LINGER 0 -> RST;
    /// router: CLOSE).  (A SYN answered by RST would leave no entry: the
    /// kernel deletes unreplied connections on RST.)
    pub fn tcp_reset(&mut self, v6: bool, port: u16) {
        let l = self.listen(v6, port);
        let mut c = self.connect(v6, port).expect("connect");
        c.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
        let mut s = Self::accept(&l);
        c.write_all(b"abort me").unwrap();
        assert_eq!(Self::read_exact(&mut s, 8), b"abort me");
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on a socket we own, with a correctly sized value.
        let rc = unsafe {
            libc::setsockopt(
                c.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &linger as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
        drop(c);
        self.wait_router_state(v6, "tcp", port, "CLOSE");
        // the server side sees the reset; keep it from sending anything
        self.held.push(s);
    }

    /// A UDP request and reply.
    pub fn udp_exchange(&self, v6: bool, port: u16, payload: &[u8]) {
        let saddr = SocketAddr::new(Self::server_addr(v6), port);
        let srv = self
            .server
            .run_in(|| UdpSocket::bind(saddr))
            .expect("udp bind");
        srv.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
        let cli = self
            .client
            .run_in(|| UdpSocket::bind(Self::any_addr(v6)))
            .expect("udp bind");
        cli.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
        cli.send_to(payload, saddr).unwrap();
        let mut buf = [0u8; 2048];
        let (n, from) = srv.recv_from(&mut buf).expect("server recv");
        assert_eq!(&buf[..n], payload);
        srv.send_to(b"reply", from).unwrap();
        let (n, _) = cli.recv_from(&mut buf).expect("client recv");
        assert_eq!(&buf[..n], b"reply");
    }

    /// A UDP datagram to a port without listener (ICMP port unreachable
    /// comes back; the router's entry stays [UNREPLIED]).
    pub fn udp_unreplied(&self, v6: bool, port: u16) {
        let saddr = SocketAddr::new(Self::server_addr(v6), port);
        let cli = self
            .client
            .run_in(|| UdpSocket::bind(Self::any_addr(v6)))
            .expect("udp bind");
        cli.connect(saddr).unwrap();
        cli.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
        cli.send(b"anyone?").unwrap();
        // The ICMP error shows up as ECONNREFUSED on the connected socket.
        let mut buf = [0u8; 64];
        match cli.recv(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            other => panic!("expected ECONNREFUSED from udp port {port}, got {other:?}"),
        }
    }

    /// ICMP / ICMPv6 echo request + reply (ping socket in the client).
    pub fn ping(&self, v6: bool, ident_seq: u16) {
        let dst = Self::server_addr(v6);
        self.client.run_in(|| ping_once(dst, ident_seq));
    }

    /// Poll the router until an entry for `proto` dport `port` is in `state`.
    pub fn wait_router_state(&self, v6: bool, proto: &str, port: u16, state: &str) {
        let fam = if v6 { "ipv6" } else { "ipv4" };
        let port_s = port.to_string();
        let deadline = Instant::now() + NET_TIMEOUT;
        loop {
            let out = self.router.exec(&[
                "conntrack",
                "-L",
                "-f",
                fam,
                "-p",
                proto,
                "--dport",
                &port_s,
            ]);
            let text = String::from_utf8_lossy(&out.stdout);
            if text
                .lines()
                .any(|l| l.split_whitespace().any(|w| w == state))
            {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "router entry {fam} {proto} dport {port} never reached {state}; table:\n{text}"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// All of the generators, v4 and v6, then wait for the router's table
    /// to be stable (no late ACKs / ICMP errors changing counters).
    pub fn generate_all_traffic(&mut self) {
        for v6 in [false, true] {
            let base = if v6 { 6000 } else { 4000 };
            self.tcp_established(v6, base + 1);
            self.tcp_established(v6, 21); // FTP helper, ct mark 42
            self.tcp_time_wait(v6, base + 2);
            self.tcp_syn_sent(v6);
            self.tcp_reset(v6, base + 3);
            self.udp_exchange(v6, base + 4, b"udp request");
            self.udp_exchange(v6, 69, b"\x00\x01file\x00octet\x00"); // TFTP RRQ
            self.udp_unreplied(v6, base + 5);
            self.ping(v6, base + 6);
        }
        wait_stable(&self.router);
    }
}

/// One echo request/reply via an unprivileged ICMP socket (must be called
/// on a thread inside the namespace that has ping_group_range set).
fn ping_once(dst: IpAddr, seq: u16) {
    let (domain, proto, req_type, rep_type) = match dst {
        IpAddr::V4(_) => (libc::AF_INET, libc::IPPROTO_ICMP, 8u8, 0u8),
        IpAddr::V6(_) => (libc::AF_INET6, libc::IPPROTO_ICMPV6, 128u8, 129u8),
    };
    // SAFETY: plain socket syscalls on a fd we own.
    unsafe {
        let fd = libc::socket(domain, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, proto);
        assert!(fd >= 0, "ping socket: {}", std::io::Error::last_os_error());
        let tv = libc::timeval {
            tv_sec: NET_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
        // type, code, checksum (kernel fills), id (kernel sets), seq
        let mut pkt = vec![req_type, 0, 0, 0, 0, 0, (seq >> 8) as u8, seq as u8];
        pkt.extend_from_slice(b"ct-test ping payload");
        let rc = match dst {
            IpAddr::V4(a) => {
                let mut sa: libc::sockaddr_in = std::mem::zeroed();
                sa.sin_family = libc::AF_INET as libc::sa_family_t;
                sa.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
                libc::sendto(
                    fd,
                    pkt.as_ptr() as *const libc::c_void,
                    pkt.len(),
                    0,
                    &sa as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
            IpAddr::V6(a) => {
                let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_addr.s6_addr = a.octets();
                libc::sendto(
                    fd,
                    pkt.as_ptr() as *const libc::c_void,
                    pkt.len(),
                    0,
                    &sa as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        };
        assert_eq!(
            rc,
            pkt.len() as isize,
            "ping sendto {dst}: {}",
            std::io::Error::last_os_error()
        );
        let mut buf = [0u8; 512];
        let n = libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0);
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        assert!(n >= 8, "no echo reply from {dst}: {err}");
        assert_eq!(buf[0], rep_type, "unexpected ICMP reply type from {dst}");
    }
}

/// Wait until `conntrack -L -o extended` (normalised) stops changing.
pub fn wait_stable(ns: &Netns) {
    let snapshot = || {
        let out = ns.conntrack(&["-L", "-o", "extended"]);
        let mut v: Vec<String> = out.lines().map(normalise).collect();
        v.sort();
        v
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut prev = snapshot();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let cur = snapshot();
        if cur == prev {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "conntrack table of {} never became stable",
            ns.name()
        );
        prev = cur;
    }
}

// ---------------------------------------------------------------------------
// Normalising and comparing listings
// ---------------------------------------------------------------------------

pub const TTL_PLACEHOLDER: &str = "<TTL>";
pub const DELTA_PLACEHOLDER: &str = "delta-time=<N>";

fn token_spans(line: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, ch) in line.char_indices() {
        if ch.is_whitespace() {
            if let Some(s) = start.take() {
                spans.push((s, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        spans.push((s, line.len()));
    }
    spans
}

fn is_num(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Split a `conntrack -L` line into the normalised line and the values that
/// tick between two dumps: the TTL (3rd field, or 5th with `-o extended`,
/// recognised by the 4th field being the numeric layer-4 protocol) and the
/// `delta-time=N` value.  All other bytes, including spacing, are kept.
/// `[start=...]` is not touched: it is fixed per entry.
pub fn split_volatile(line: &str) -> (String, Vec<(&'static str, u64)>) {
    let spans = token_spans(line);
    // An event line starts with its type ("[NEW] tcp 6 TTL ..."), the rest as a listing's.
    let event = spans
        .first()
        .is_some_and(|&(a, b)| line[a..b].starts_with('[') && line[a..b].ends_with(']'));
    let skip = usize::from(event);
    let tok = |i: usize| spans.get(i + skip).map(|&(a, b)| &line[a..b]);
    // The classic line: "tcp 6 TTL", with -o extended "ipv4 2 tcp 6 TTL"; -o save:
    // "-A -t TTL".
    let ttl_idx = skip
        + if tok(0) == Some("-A") && tok(1) == Some("-t") {
            2
        } else if tok(3).is_some_and(is_num) && tok(1).is_some_and(is_num) {
            4
        } else {
            2
        };
    let mut out = String::with_capacity(line.len());
    let mut vals = Vec::new();
    let mut last = 0;
    for (i, &(a, b)) in spans.iter().enumerate() {
        let t = &line[a..b];
        if i == ttl_idx && is_num(t) {
            out.push_str(&line[last..a]);
            out.push_str(TTL_PLACEHOLDER);
            vals.push(("ttl", t.parse().unwrap()));
            last = b;
        } else if let Some(v) = t.strip_prefix("delta-time=") {
            if is_num(v) {
                out.push_str(&line[last..a]);
                out.push_str(DELTA_PLACEHOLDER);
                vals.push(("delta-time", v.parse().unwrap()));
                last = b;
            }
        }
    }
    out.push_str(&line[last..]);
    (out, vals)
}

/// The line with the TTL and delta-time values replaced by placeholders.
pub fn normalise(line: &str) -> String {
    split_volatile(line).0
}

/// How far the TTL / delta-time of the same entry may drift between the
/// two dumps (seconds).
pub const VOLATILE_TOLERANCE: u64 = 3;

fn lines_of(s: &str) -> Vec<&str> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.strip_suffix('\n').unwrap_or(s).split('\n').collect()
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// (normalised line, volatile values, original line)
type ParsedLine<'a> = (String, Vec<(&'static str, u64)>, &'a str);

/// Compare two listings as sets of normalised lines.  Returns a readable
/// report of the differences, or None if they match (also checks that the
/// volatile values are within `VOLATILE_TOLERANCE` and that both end with a
/// newline the same way).
pub fn diff_listings(ct_out: &str, conntrack_out: &str) -> Option<String> {
    const MAX_SHOWN: usize = 25;
    let mut report = String::new();
    if ct_out.ends_with('\n') != conntrack_out.ends_with('\n')
        && !(ct_out.is_empty() && conntrack_out.is_empty())
    {
        report.push_str(&format!(
            "trailing newline differs: ct ends with \\n: {}, conntrack: {}\n",
            ct_out.ends_with('\n'),
            conntrack_out.ends_with('\n')
        ));
    }
    let mut a: Vec<ParsedLine> = lines_of(ct_out)
        .into_iter()
        .map(|l| {
            let (n, v) = split_volatile(l);
            (n, v, l)
        })
        .collect();
    let mut b: Vec<ParsedLine> = lines_of(conntrack_out)
        .into_iter()
        .map(|l| {
            let (n, v) = split_volatile(l);
            (n, v, l)
        })
        .collect();
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));

    // multiset difference on the normalised lines
    let mut count: BTreeMap<&str, i64> = BTreeMap::new();
    for x in &a {
        *count.entry(&x.0).or_default() += 1;
    }
    for x in &b {
        *count.entry(&x.0).or_default() -= 1;
    }
    // (normalised lines are shown: TTL and delta-time are masked)
    let mut only_ct: Vec<&str> = Vec::new();
    let mut only_conntrack: Vec<&str> = Vec::new();
    {
        let mut remaining = count.clone();
        for x in &a {
            let c = remaining.get_mut(x.0.as_str()).unwrap();
            if *c > 0 {
                only_ct.push(&x.0);
                *c -= 1;
            }
        }
        let mut remaining = count;
        for x in &b {
            let c = remaining.get_mut(x.0.as_str()).unwrap();
            if *c < 0 {
                only_conntrack.push(&x.0);
                *c += 1;
            }
        }
    }
    if !only_ct.is_empty() || !only_conntrack.is_empty() {
        report.push_str(&format!(
            "{} lines from ct, {} from conntrack; {} only in ct, {} only in conntrack (TTL/delta-time masked)\n",
            a.len(),
            b.len(),
            only_ct.len(),
            only_conntrack.len()
        ));
        // Pair each ct-only line with the conntrack-only line it shares the
        // longest prefix with, and point at the first differing byte.
        let mut unpaired_conntrack: Vec<Option<&str>> =
            only_conntrack.iter().map(|s| Some(*s)).collect();
        let mut shown = 0;
        let mut unpaired_ct = Vec::new();
        let pair = only_ct.len().saturating_mul(only_conntrack.len()) <= 250_000;
        for l in &only_ct {
            if !pair {
                unpaired_ct.push(*l);
                continue;
            }
            let best = unpaired_conntrack
                .iter()
                .enumerate()
                .filter_map(|(i, o)| o.map(|o| (i, common_prefix(l, o))))
                .max_by_key(|&(_, n)| n);
            match best {
                Some((i, n)) if n >= 20 => {
                    let o = unpaired_conntrack[i].take().unwrap();
                    if shown < MAX_SHOWN {
                        report.push_str(&format!(
                            "  ct:        {l}\n  conntrack: {o}\n             {}^ first difference at byte {n}\n",
                            " ".repeat(n)
                        ));
                    }
                    shown += 1;
                }
                _ => unpaired_ct.push(*l),
            }
        }
        if shown > MAX_SHOWN {
            report.push_str(&format!(
                "  ... {} more differing pairs\n",
                shown - MAX_SHOWN
            ));
        }
        for (i, l) in unpaired_ct.iter().enumerate() {
            if i == MAX_SHOWN {
                report.push_str(&format!(
                    "  ... {} more lines only in ct\n",
                    unpaired_ct.len() - MAX_SHOWN
                ));
                break;
            }
            report.push_str(&format!("- only in ct:        {l}\n"));
        }
        let rest: Vec<&str> = unpaired_conntrack.into_iter().flatten().collect();
        for (i, l) in rest.iter().enumerate() {
            if i == MAX_SHOWN {
                report.push_str(&format!(
                    "  ... {} more lines only in conntrack\n",
                    rest.len() - MAX_SHOWN
                ));
                break;
            }
            report.push_str(&format!("+ only in conntrack: {l}\n"));
        }
    } else {
        // Same normalised lines: the sorted vectors correspond one to one.
        let mut bad = 0;
        for (x, y) in a.iter().zip(b.iter()) {
            let close = x.1.len() == y.1.len()
                && x.1
                    .iter()
                    .zip(y.1.iter())
                    .all(|(p, q)| p.0 == q.0 && p.1.abs_diff(q.1) <= VOLATILE_TOLERANCE);
            if !close {
                if bad < MAX_SHOWN {
                    report.push_str(&format!(
                        "TTL/delta-time differ by more than {VOLATILE_TOLERANCE}s:\n  ct:        {}\n  conntrack: {}\n",
                        x.2, y.2
                    ));
                }
                bad += 1;
            }
        }
    }
    if report.is_empty() {
        None
    } else {
        Some(report)
    }
}

/// Panic with a readable diff unless the listings match (see `diff_listings`).
pub fn assert_same_lines(ct_out: &str, conntrack_out: &str) {
    if let Some(d) = diff_listings(ct_out, conntrack_out) {
        panic!("listings differ:\n{d}");
    }
}

// ---------------------------------------------------------------------------
// Running `ct list` and `conntrack -L` side by side
// ---------------------------------------------------------------------------

/// The 16 subsets of {extended, id, ktimestamp, labels} (the empty one
/// meaning "no -o"), plus a few in a different order.
pub fn output_option_sets() -> Vec<String> {
    const WORDS: [&str; 4] = ["extended", "id", "ktimestamp", "labels"];
    let mut v: Vec<String> = (0..16u32)
        .map(|m| {
            WORDS
                .iter()
                .enumerate()
                .filter(|(i, _)| m & (1 << i) != 0)
                .map(|(_, w)| *w)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    v.push("labels,extended".into());
    v.push("ktimestamp,id,extended".into());
    v.push("save".into());
    v
}

/// Where/how to run a listing command.
#[derive(Clone, Copy)]
pub enum Env<'a> {
    /// `ip netns exec NS ...` without connlabel.conf
    Ns(&'a Netns),
    /// `ip netns exec NS ...` with `/etc/xtables/connlabel.conf` = map
    NsWithLabels(&'a Netns, &'a str),
}

impl Env<'_> {
    pub fn run(&self, argv: &[&str]) -> Output {
        match self {
            Env::Ns(n) => n.exec(argv),
            Env::NsWithLabels(n, map) => n.exec_with_labelmap(map, argv),
        }
    }
}

fn with_o<'a>(base: &[&'a str], opts: &'a str) -> Vec<&'a str> {
    let mut v = base.to_vec();
    if !opts.is_empty() {
        v.push("-o");
        v.push(opts);
    }
    v
}

/// `N` from the single "[ct: ]N flow entries have been shown." line of ct's
/// stderr, or an error describing what was there instead.
pub fn ct_summary_count(stderr: &str) -> Result<usize, String> {
    let hits: Vec<usize> = stderr
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("ct: ").unwrap_or(l);
            let n = l.strip_suffix(" flow entries have been shown.")?;
            if is_num(n) { n.parse().ok() } else { None }
        })
        .collect();
    match hits.as_slice() {
        [n] => Ok(*n),
        _ => Err(format!(
            "expected exactly one \"[ct: ]N flow entries have been shown.\" line on stderr, got:\n{stderr}"
        )),
    }
}

/// N from conntrack's "conntrack v1.4.7 (conntrack-tools): N flow entries
/// have been shown." line.
pub fn conntrack_summary_count(stderr: &str) -> Option<usize> {
    stderr.lines().find_map(|l| {
        let rest = l.strip_suffix(" flow entries have been shown.")?;
        rest.rsplit(' ').next()?.parse().ok()
    })
}

/// Run `ct list [-o O]` and `conntrack -L [-o O]` in `env`; return a report
/// of everything that differs (None if all is well).
pub fn compare_one(env: Env, opts: &str) -> Option<String> {
    let ct = ct_bin();
    let ct_argv = with_o(&[ct.as_str(), "list"], opts);
    let ct_out = env.run(&ct_argv);
    let cn_out = env.run(&with_o(&["conntrack", "-L"], opts));
    let mut report = String::new();
    let cn_stdout = stdout_str(&cn_out);
    let cn_lines = lines_of(&cn_stdout).len();
    assert!(
        cn_out.status.success(),
        "conntrack -L -o {opts:?} failed: {}",
        stderr_str(&cn_out)
    );
    assert_eq!(
        conntrack_summary_count(&stderr_str(&cn_out)),
        Some(cn_lines),
        "harness: conntrack's own summary does not match its line count"
    );
    if ct_out.status.code() != Some(0) {
        report.push_str(&format!(
            "ct exited with {} (stderr: {})\n",
            ct_out.status,
            stderr_str(&ct_out).trim_end()
        ));
    }
    let ct_stdout = match String::from_utf8(ct_out.stdout.clone()) {
        Ok(s) => s,
        Err(_) => {
            report.push_str("ct stdout is not UTF-8\n");
            String::from_utf8_lossy(&ct_out.stdout).into_owned()
        }
    };
    let ct_lines = lines_of(&ct_stdout).len();
    match ct_summary_count(&stderr_str(&ct_out)) {
        Ok(n) if n == ct_lines && n == cn_lines => {}
        Ok(n) => report.push_str(&format!(
            "ct's summary says {n} flow entries, ct printed {ct_lines} lines, conntrack printed {cn_lines}\n"
        )),
        Err(e) => report.push_str(&format!("{e}\n")),
    }
    if let Some(d) = diff_listings(&ct_stdout, &cn_stdout) {
        report.push_str(&d);
    }
    if report.is_empty() {
        None
    } else {
        let opt_desc = if opts.is_empty() {
            "(no -o)".to_string()
        } else {
            format!("-o {opts}")
        };
        let where_ = match env {
            Env::Ns(n) => format!("netns {}", n.name()),
            Env::NsWithLabels(n, _) => format!("netns {} with label map", n.name()),
        };
        Some(format!(
            "=== ct list {opt_desc} vs conntrack -L {opt_desc} in {where_}:\n{report}"
        ))
    }
}

/// `compare_one` for every `-o` set; panics with all reports together.
/// Returns the number of lines conntrack printed (without -o).
pub fn compare_all(env: Env) -> usize {
    let mut failures = Vec::new();
    for o in output_option_sets() {
        if let Some(r) = compare_one(env, &o) {
            failures.push(r);
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} comparisons failed:\n{}",
            failures.len(),
            output_option_sets().len(),
            failures.join("\n")
        );
    }
    let out = env.run(&["conntrack", "-L"]);
    lines_of(&stdout_str(&out)).len()
}

/// stdout of `conntrack -L [-o opts]` in env (checked).
pub fn conntrack_list(env: Env, opts: &str) -> String {
    let out = env.run(&with_o(&["conntrack", "-L"], opts));
    check_ok("conntrack -L", &out)
}

/// conntrack 1.4.7's XML names the `<state>` of every protocol from TCP's
/// table: an SCTP flow in COOKIE_WAIT (state 2) is printed with
/// `<state>SYN_RECV</state>` (the classic line gets it right).  ct prints
/// the protocol's own name; this rewrites conntrack's XML line to what it
/// should have been, so that everything else can be compared byte for
/// byte.  (DCCP would have the same problem; the test kernels have no DCCP
/// tracker to make such entries.)
pub fn fix_conntrack_xml_state(line: &str) -> String {
    let names = if line.contains(r#"<layer4 protonum="132" protoname="sctp">"#) {
        &SCTP_STATE_NAMES
    } else if line.contains(r#"<layer4 protonum="33" protoname="dccp">"#) {
        &DCCP_STATE_NAMES
    } else {
        return line.to_string();
    };
    let Some(a) = line.find("<state>") else {
        return line.to_string();
    };
    let b = a + line[a..].find("</state>").expect("unterminated <state>");
    let tcp_name = &line[a + "<state>".len()..b];
    let n = TCP_STATE_NAMES
        .iter()
        .position(|s| *s == tcp_name)
        .unwrap_or_else(|| panic!("conntrack printed state {tcp_name:?}, not a TCP name: {line}"));
    format!("{}<state>{}{}", &line[..a], names[n], &line[b..])
}
