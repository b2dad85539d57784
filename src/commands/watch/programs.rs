//! The name of the program behind a change, for `[USERSPACE] portid=N progname=X`.
//!
//! An event names the netlink port id of the socket whose request caused it. As
//! conntrack does, ct finds that socket's inode in /proc/net/netlink (of the namespace
//! the event came from, read from a thread in it as every file of another namespace
//! is), then the process holding a descriptor to it: first the process whose
//! pid is the port id (the kernel's first choice of port id), then every process. The
//! name is the one in /proc/PID/stat.
//!
//! conntrack repeats the /proc/net/netlink lookup for every event, which is what makes
//! it fall behind during a burst of inserts; ct remembers each answer for a second. A
//! port id reused by another program within that second would show the first name.

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

use crate::netlink::netns::{self, Place};

/// How long a name found for a port id is trusted.
const REMEMBERED_FOR: Duration = Duration::from_secs(1);

/// NETLINK_NETFILTER, the protocol column of /proc/net/netlink.
const NETLINK_NETFILTER: u32 = 12;

/// Program names by namespace (its inode, 0 for ct's own) and port id, each
/// remembered for [`REMEMBERED_FOR`].
#[derive(Default)]
pub struct ProgramNames {
    known: HashMap<(u64, u32), (Instant, Option<String>)>,
}

impl ProgramNames {
    /// The name of the program whose netfilter socket in `place`'s namespace has
    /// `portid`, if it can be found.
    pub fn name(&mut self, portid: u32, place: &Place) -> Option<&str> {
        let key = (place.namespace.as_ref().map_or(0, |ns| ns.inode), portid);
        let now = Instant::now();
        let fresh = self
            .known
            .get(&key)
            .is_some_and(|(found, _)| now.duration_since(*found) < REMEMBERED_FOR);
        if !fresh {
            self.known.insert(key, (now, look_up(portid, place)));
        }
        self.known.get(&key).and_then(|(_, name)| name.as_deref())
    }
}

/// Finds the program holding the netfilter socket with `portid` in `place`'s namespace.
fn look_up(portid: u32, place: &Place) -> Option<String> {
    const NETLINK_SOCKETS: &str = "/proc/net/netlink";
    let table = match &place.namespace {
        None => fs::read(NETLINK_SOCKETS),
        Some(namespace) => netns::read_in(namespace, NETLINK_SOCKETS),
    }
    .ok()?;
    let table = String::from_utf8(table).ok()?;
    let inode = socket_inode(&table, portid)?;
    let target = format!("socket:[{inode}]");
    let holder = if holds_socket(portid, &target) {
        Some(portid)
    } else {
        fs::read_dir("/proc")
            .ok()?
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid > 1 && pid != portid)
            .find(|&pid| holds_socket(pid, &target))
    }?;
    program_name(&fs::read_to_string(format!("/proc/{holder}/stat")).ok()?)
}

/// The inode of the netfilter socket with `portid` in /proc/net/netlink, whose columns
/// are: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode.
fn socket_inode(table: &str, portid: u32) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let protocol: u32 = columns.get(1)?.parse().ok()?;
        let port: u32 = columns.get(2)?.parse().ok()?;
        (protocol == NETLINK_NETFILTER && port == portid).then_some(())?;
        columns.get(9)?.parse().ok()
    })
}

/// True when process `pid` has a descriptor whose link reads `target` (`socket:[N]`).
fn holds_socket(pid: u32, target: &str) -> bool {
    let Ok(descriptors) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    descriptors.filter_map(Result::ok).any(|descriptor| {
        fs::read_link(descriptor.path()).is_ok_and(|link| link.as_os_str() == target)
    })
}

/// The name in /proc/PID/stat: what follows the pid, between the parenthesis and the
/// first closing one (as conntrack reads it).
fn program_name(stat: &str) -> Option<String> {
    let (_, rest) = stat.split_once(" (")?;
    let (name, _) = rest.split_once(')')?;
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
0000000000000000 0   4242       00000000 0        0        0     2        0        1111
0000000000000000 12  4242       00000000 0        0        0     2        0        2222
0000000000000000 12  99         00000007 0        0        0     2        0        3333
";

    #[test]
    fn the_inode_is_the_netfilter_sockets() {
        assert_eq!(socket_inode(TABLE, 4242), Some(2222));
        assert_eq!(socket_inode(TABLE, 99), Some(3333));
        assert_eq!(socket_inode(TABLE, 7), None);
    }

    #[test]
    fn the_name_ends_at_the_first_closing_parenthesis() {
        assert_eq!(
            program_name("4242 (conntrack) S 1 2 3").as_deref(),
            Some("conntrack")
        );
        assert_eq!(program_name("7 (a b) c) R 1").as_deref(), Some("a b"));
        assert_eq!(program_name("garbage"), None);
    }

    #[test]
    fn this_process_is_found_by_its_own_socket() {
        // Opening a netfilter socket needs no privilege; skip where there is none.
        let Ok(conntrack) = crate::netlink::Conntrack::open(Some(65536)) else {
            eprintln!("skipped: cannot open a netfilter netlink socket here");
            return;
        };
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut length = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: the pointers describe `address` and `length`, which outlive the call.
        let result = unsafe {
            libc::getsockname(
                conntrack.raw_fd(),
                (&mut address as *mut libc::sockaddr_nl).cast(),
                &mut length,
            )
        };
        assert_eq!(result, 0);
        let stat = fs::read_to_string(format!("/proc/{}/stat", std::process::id())).unwrap();
        let mut names = ProgramNames::default();
        assert_eq!(
            names.name(address.nl_pid, &Place::OWN).map(str::to_string),
            program_name(&stat)
        );
        assert_eq!(names.name(u32::MAX - 1, &Place::OWN), None);
    }
}
