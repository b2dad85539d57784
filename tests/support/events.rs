//! Running event watchers (`ct watch`, `conntrack -E`) in the background: start them,
//! wait until the kernel has them as listeners, stop them as a person does (SIGINT), and
//! read what they printed, with the parts that may rightly differ made equal.

use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Netns, TempFile, describe};

/// A watcher running in the background, its output going to files.
pub struct EventWatcher {
    child: Option<Child>,
    out: TempFile,
    err: TempFile,
    what: String,
}

/// What a stopped watcher printed.
pub struct Printed {
    pub stdout: String,
    pub stderr: String,
}

impl EventWatcher {
    /// Starts `cmd` with stdout and stderr going to files.
    pub fn spawn(mut cmd: Command) -> EventWatcher {
        let out = TempFile::new("watch-out", "");
        let err = TempFile::new("watch-err", "");
        let what = describe(&cmd);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(File::create(out.path_str()).unwrap())
            .stderr(File::create(err.path_str()).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"));
        EventWatcher {
            child: Some(child),
            out,
            err,
            what,
        }
    }

    /// Sends `signal` (SIGINT as Ctrl-C does, or SIGTERM), waits for the exit, requires
    /// status 0 and returns what was printed.
    pub fn stop_with(mut self, signal: i32) -> Printed {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill on the pid of a child we have not reaped.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = wait_with_timeout(&mut child, &self.what);
        let printed = self.printed();
        assert!(
            status.success(),
            "`{}` exited with {status} after signal {signal}:\n{}",
            self.what,
            printed.stderr
        );
        printed
    }

    /// SIGINT, as Ctrl-C.
    pub fn stop(self) -> Printed {
        self.stop_with(libc::SIGINT)
    }

    /// Waits for a watcher that ends on its own (--count, --duration), requires status
    /// 0 and returns what was printed.
    pub fn finish(mut self) -> Printed {
        let mut child = self.child.take().unwrap();
        let status = wait_with_timeout(&mut child, &self.what);
        let printed = self.printed();
        assert!(
            status.success(),
            "`{}` exited with {status}:\n{}",
            self.what,
            printed.stderr
        );
        printed
    }

    /// What it printed so far.
    pub fn printed(&self) -> Printed {
        Printed {
            stdout: std::fs::read_to_string(self.out.path_str()).unwrap(),
            stderr: std::fs::read_to_string(self.err.path_str()).unwrap(),
        }
    }
}

impl Drop for EventWatcher {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_with_timeout(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` did not end within 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until `count` sockets of the namespace listen to conntrack event groups: the
/// watchers started before are then sure to receive what follows.
pub fn wait_for_listeners(ns: &Netns, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let table = ns.sh("cat /proc/net/netlink");
        let listening = table
            .lines()
            .skip(1)
            .filter(|line| {
                let columns: Vec<&str> = line.split_whitespace().collect();
                columns.get(1) == Some(&"12")
                    && columns
                        .get(3)
                        .is_some_and(|groups| u64::from_str_radix(groups, 16).unwrap_or(0) != 0)
            })
            .count();
        if listening >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {listening} of {count} event listeners after 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Makes equal what two watchers may rightly print differently for the same event:
/// - the `-o timestamp` time (`[T]`): conntrack 1.4.7 reads the clock, ct prefers the
///   kernel's event time, and both read at different moments;
/// - `delta-time` and `<deltatime>` of live entries, counted to each one's "now";
/// - ` progname=X`: the process that made the change (a short-lived `conntrack -I`) may
///   be gone when one of them looks, and still there when the other does;
/// - `<when>`, the time of printing in XML;
/// - the ` [USERSPACE] portid=N` conntrack 1.4.7 appends to an XML line (invalid XML,
///   dropped in conntrack 1.4.8; ct follows 1.4.8).
pub fn normalise(text: &str) -> String {
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut line = line.to_string();
        if line.starts_with('[') {
            if let Some(end) = line.find("]\t") {
                if line[1..end]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ' ')
                {
                    line.replace_range(..end + 2, "[T]\t");
                }
            }
        }
        line = replace_numbers_after(&line, "delta-time=");
        line = replace_numbers_after(&line, "<deltatime>");
        if let Some(start) = line.find("<when>") {
            if let Some(end) = line.find("</when>") {
                line.replace_range(start..end + "</when>".len(), "<when/>");
            }
        }
        if line.starts_with("<flow") {
            if let Some(at) = line.find("</flow> [USERSPACE]") {
                line.truncate(at + "</flow>".len());
            }
        }
        if let Some(at) = line.find(" progname=") {
            line.truncate(at);
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// `text` with the digits after each `marker` replaced by `N`.
fn replace_numbers_after(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let after = at + marker.len();
        out.push_str(&rest[..after]);
        let digits = rest[after..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - after);
        out.push('N');
        rest = &rest[after + digits..];
    }
    out.push_str(rest);
    out
}

/// The number in "... N flow events have been shown." (or "expectation events").
pub fn events_shown(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|line| {
            let before = line
                .strip_suffix(" flow events have been shown.")
                .or_else(|| line.strip_suffix(" expectation events have been shown."))?;
            before.rsplit(' ').next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no 'events have been shown' line in:\n{stderr}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_keeps_everything_but_times_and_names() {
        let ct = "[1764091234.000042]\t    [NEW] udp      17 30 src=1 delta-time=5 [USERSPACE] portid=7 progname=conntrack";
        let conntrack =
            "[1764091233.999999]\t    [NEW] udp      17 30 src=1 delta-time=4 [USERSPACE] portid=7";
        assert_eq!(normalise(ct), normalise(conntrack));
        assert_eq!(
            normalise(ct),
            "[T]\t    [NEW] udp      17 30 src=1 delta-time=N [USERSPACE] portid=7"
        );
        assert_ne!(normalise("a mark=1"), normalise("a mark=2"));
        assert_eq!(
            normalise("<flow type=\"new\"><when><hour>1</hour></when></flow> [USERSPACE] portid=5"),
            "<flow type=\"new\"><when/></flow>"
        );
    }
}
