//! Network namespaces: which ones a command reads ([`Scope`], [`Place`]), finding every
//! one of the host, and opening a socket in one.
//!
//! A conntrack table belongs to a network namespace, and a netlink socket talks to the
//! namespace it was created in. `--netns` and `--all-netns` alike open each socket from
//! a short-lived thread that entered the namespace with setns(2) ([`open_in`]): the
//! socket keeps its namespace, and ct itself never leaves its own. The files of /proc
//! that stand in for ctnetlink are read the same way ([`read_in`]), so they are the
//! namespace's own. docs/namespaces.md says what happens when a namespace cannot be
//! entered or vanishes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use crate::model::netns::Namespace;

/// The namespaces a command reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// The one ct runs in.
    #[default]
    Own,
    /// The one `--netns` names, as the user named it: an `ip netns` name, a path to a
    /// namespace file, or a process id.
    Named(String),
    /// Every namespace of the host (`--all-netns`).
    All,
}

impl Scope {
    /// The namespaces to read now: ct's own, the one named (entered by what the user
    /// typed, so that errors quote it), or every one found now, tagged.
    pub fn places(&self) -> Vec<Place> {
        match self {
            Scope::Own => vec![Place::OWN],
            Scope::Named(spec) => vec![Place {
                namespace: Some(Namespace::named(spec)),
                tagged: false,
            }],
            Scope::All => discover()
                .into_iter()
                .map(|namespace| Place {
                    namespace: Some(namespace),
                    tagged: true,
                })
                .collect(),
        }
    }
}

/// One namespace a command reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The namespace to open sockets in; none for ct's own, which needs no entering.
    pub namespace: Option<Namespace>,
    /// Whether what comes from it is tagged with its namespace (`--all-netns`).
    pub tagged: bool,
}

impl Place {
    /// ct's own namespace.
    pub const OWN: Place = Place {
        namespace: None,
        tagged: false,
    };

    /// The namespace to tag what comes from it with, under `--all-netns`.
    pub fn tag(&self) -> Option<&Namespace> {
        self.namespace.as_ref().filter(|_| self.tagged)
    }
}

/// Where `ip netns add` keeps its named namespaces.
const NAMED_NETNS_DIR: &str = "/run/netns";

/// What the user named: `ip netns` name, path to a namespace file, or a process id.
pub fn namespace_path(spec: &str) -> PathBuf {
    if !spec.is_empty() && spec.bytes().all(|b| b.is_ascii_digit()) {
        PathBuf::from(format!("/proc/{spec}/ns/net"))
    } else if spec.contains('/') {
        PathBuf::from(spec)
    } else {
        PathBuf::from(NAMED_NETNS_DIR).join(spec)
    }
}

/// Moves the calling thread into the network namespace `spec` names (an `ip netns`
/// name, a path or a pid): for a thread of a caller's own (the test harness runs code
/// in a namespace this way). ct's commands enter only from the short-lived threads of
/// [`open_in`].
pub fn enter(spec: &str) -> Result<()> {
    enter_at(spec, &namespace_path(spec))
}

/// Moves the calling thread into the network namespace at `path`; errors call it
/// `spec`, as the user (or discovery) named it.
fn enter_at(spec: &str, path: &Path) -> Result<()> {
    let file = File::open(path).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => anyhow::anyhow!(
            "network namespace '{spec}' not found ({} does not exist); \
             `ip netns list` shows the named ones",
            path.display()
        ),
        io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "permission denied opening network namespace '{spec}' ({}); \
             run as root or with CAP_SYS_ADMIN",
            path.display()
        ),
        _ => anyhow::Error::new(err).context(format!(
            "cannot open network namespace '{spec}' ({})",
            path.display()
        )),
    })?;
    // SAFETY: setns only reads the descriptor, which `file` keeps open for the call.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EPERM) => bail!(
                "permission denied entering network namespace '{spec}'; \
                 run as root or with CAP_SYS_ADMIN"
            ),
            Some(libc::EINVAL) => {
                bail!("'{spec}' ({}) is not a network namespace", path.display())
            }
            _ => {
                return Err(err)
                    .with_context(|| format!("cannot enter network namespace '{spec}'"));
            }
        }
    }
    Ok(())
}

impl Namespace {
    /// The namespace `--netns` names: an `ip netns` name, a path or a process id. It is
    /// looked at only when entered, so that a missing or wrong file is reported in the
    /// words of entering it.
    pub fn named(spec: &str) -> Namespace {
        let path = namespace_path(spec);
        Namespace {
            // 0 is no namespace's inode: one that cannot be read is never ct's own.
            inode: inode_of(&path).unwrap_or(0),
            name: Some(spec.to_string()),
            pid: None,
            container: None,
            initial: false,
            path,
            spec: spec.to_string(),
        }
    }
}

/// ct's own namespace, as readers that label every namespace (`ct exporter`) name it:
/// `host` when it is the initial one, else as `--all-netns` labels it (its name under
/// /run/netns, `net:INODE,pid:N`...), else by its inode. None when its file cannot be
/// read (no /proc).
pub fn own() -> Option<Namespace> {
    let path = PathBuf::from("/proc/self/ns/net");
    let inode = inode_of(&path)?;
    let initial = Some(inode) == initial_namespace();
    let found = if initial {
        None
    } else {
        discover().into_iter().find(|ns| ns.inode == inode)
    };
    Some(found.unwrap_or(Namespace {
        inode,
        name: None,
        pid: None,
        container: None,
        initial,
        spec: path.to_string_lossy().into_owned(),
        path,
    }))
}

/// Every network namespace of the host, one per inode: the named ones under /run/netns
/// and those of every process under /proc. Named ones come first, by name, then the
/// others by inode. A namespace file that cannot be read is left out.
pub fn discover() -> Vec<Namespace> {
    let mut found: BTreeMap<u64, Namespace> = BTreeMap::new();
    let initial = initial_namespace();
    for (name, path) in named_namespaces() {
        let Some(inode) = inode_of(&path) else {
            continue;
        };
        found.entry(inode).or_insert_with(|| Namespace {
            inode,
            name: Some(name),
            pid: None,
            container: None,
            initial: Some(inode) == initial,
            spec: path.to_string_lossy().into_owned(),
            path,
        });
    }
    for pid in process_ids() {
        let path = PathBuf::from(format!("/proc/{pid}/ns/net"));
        let Some(inode) = inode_of(&path) else {
            continue;
        };
        let namespace = found.entry(inode).or_insert_with(|| Namespace {
            inode,
            name: None,
            pid: None,
            container: None,
            initial: Some(inode) == initial,
            spec: path.to_string_lossy().into_owned(),
            path,
        });
        if namespace.pid.is_none() {
            namespace.pid = Some(pid);
            namespace.container = container_of(pid);
        }
    }
    let mut namespaces: Vec<Namespace> = found.into_values().collect();
    namespaces.sort_by(|a, b| {
        (a.name.is_none(), &a.name, !a.initial, a.inode).cmp(&(
            b.name.is_none(),
            &b.name,
            !b.initial,
            b.inode,
        ))
    });
    namespaces
}

/// The initial namespace's inode: process 1's, or where that cannot be read (a sandbox
/// may hide it), kthreadd's: kernel threads always live in the initial namespace. Both
/// need the right to look into those processes (ptrace's read mode), which an
/// unprivileged ct lacks; then ct's own namespace is known to be the initial one, or
/// the initial one is not known.
pub fn initial_namespace() -> Option<u64> {
    inode_of(Path::new("/proc/1/ns/net"))
        .or_else(|| {
            let comm = std::fs::read_to_string("/proc/2/comm").ok()?;
            (comm.trim() == "kthreadd")
                .then(|| inode_of(Path::new("/proc/2/ns/net")))
                .flatten()
        })
        .or_else(own_if_initial)
}

/// The inode Linux 6.18 on gives the initial network namespace (NET_NS_INIT_INO,
/// linux/nsfs.h). Earlier kernels number namespaces from 0xF0000000 up, so no other
/// namespace has it there.
const NET_NS_INIT_INO: u64 = 0xEFFF_FFF9;

/// A sysctl the kernel registers in the initial network namespace only (net_core_table,
/// net/core/sysctl_net_core.c), and /proc/sys shows the reader's namespace's: anyone can
/// see whether it is there.
const INITIAL_ONLY_SYSCTL: &str = "/proc/sys/net/core/netdev_max_backlog";

/// The inode of this thread's namespace when it is the initial one, found without any
/// right: by its fixed inode (Linux 6.18 on), or by a sysctl only the initial namespace
/// has.
fn own_if_initial() -> Option<u64> {
    let own = inode_of(Path::new("/proc/thread-self/ns/net"))?;
    (own == NET_NS_INIT_INO || Path::new(INITIAL_ONLY_SYSCTL).exists()).then_some(own)
}

/// The namespace's inode, if `path` is a namespace file that can be read.
fn inode_of(path: &Path) -> Option<u64> {
    let meta = std::fs::metadata(path).ok()?;
    // A name under /run/netns whose namespace is gone is an empty file on tmpfs, not a
    // mount of nsfs: only nsfs files can be entered.
    is_nsfs(path).then_some(meta.ino())
}

/// True when `path` lies on nsfs, the file system namespace files live on.
fn is_nsfs(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes only into `stats`, and `c_path` is a valid C string.
    let mut stats: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &mut stats) };
    rc == 0 && stats.f_type as i64 == NSFS_MAGIC
}

/// statfs's f_type for nsfs (NSFS_MAGIC in include/uapi/linux/magic.h).
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// (name, path) of each entry of /run/netns.
fn named_namespaces() -> Vec<(String, PathBuf)> {
    let Ok(dir) = std::fs::read_dir(NAMED_NETNS_DIR) else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let entry = entry.ok()?;
        Some((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ))
    })
    .collect()
}

/// Every process id under /proc, lowest first.
fn process_ids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

/// The container id in a process's cgroup path: the first 64-hex-digit word, as
/// docker (`/docker/ID`, `docker-ID.scope`), containerd (`cri-containerd-ID.scope`),
/// cri-o (`crio-ID.scope`) and podman (`libpod-ID.scope`) name their cgroups.
fn container_of(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    container_id(&text)
}

fn container_id(cgroups: &str) -> Option<String> {
    cgroups
        .split(['/', '-', '.', ':', '\n'])
        .find(|word| word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
}

/// Runs `open` on a thread that entered `namespace`, and returns what it made: a socket
/// opened there keeps talking to that namespace after the thread is gone, while this
/// thread, and so ct, never leaves its own.
pub fn open_in<T: Send>(
    namespace: &Namespace,
    open: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    // ct's own namespace needs no entering (nor CAP_SYS_ADMIN, which setns asks for
    // even there).
    if inode_of(Path::new("/proc/thread-self/ns/net")) == Some(namespace.inode) {
        return open();
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                enter_at(&namespace.spec, &namespace.path)?;
                open()
            })
            .join()
            .unwrap_or_else(|_| {
                bail!(
                    "the thread entering network namespace {} failed",
                    namespace.spec
                )
            })
    })
}

/// Reads the file `path` of /proc as `namespace` shows it: /proc/net (which is the
/// process's, /proc/self/net) as /proc/thread-self/net, and /proc/sys as it is, from a
/// thread that entered the namespace, since both show the reading thread's namespace.
pub fn read_in(namespace: &Namespace, path: &str) -> io::Result<Vec<u8>> {
    let thread_path = match path.strip_prefix("/proc/net/") {
        Some(rest) => format!("/proc/thread-self/net/{rest}"),
        None => path.to_string(),
    };
    open_in(namespace, || Ok(std::fs::read(&thread_path)))
        .unwrap_or_else(|err| Err(io::Error::other(format!("{err:#}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_from_cgroup_paths() {
        let id = "4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
        for cgroup in [
            format!("0::/system.slice/docker-{id}.scope\n"),
            format!("12:pids:/docker/{id}\n"),
            format!("0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-{id}.scope\n"),
            format!("0::/machine.slice/libpod-{id}.scope/container\n"),
        ] {
            assert_eq!(container_id(&cgroup).as_deref(), Some(id), "{cgroup}");
        }
        assert_eq!(
            container_id("0::/user.slice/user-1000.slice/session-2.scope\n"),
            None
        );
    }

    #[test]
    fn labels_say_name_host_pid_or_inode() {
        let namespace = |name: Option<&str>, initial, pid| Namespace {
            inode: 4026532281,
            name: name.map(String::from),
            pid,
            container: None,
            initial,
            path: PathBuf::from("/x"),
            spec: "/x".into(),
        };
        assert_eq!(namespace(Some("blue"), true, Some(1)).label(), "blue");
        assert_eq!(namespace(None, true, Some(1)).label(), "host");
        assert_eq!(
            namespace(None, false, Some(77)).label(),
            "net:4026532281,pid:77"
        );
        assert_eq!(namespace(None, false, None).label(), "net:4026532281");
        let mut contained = namespace(None, false, Some(77));
        contained.container = Some("4f1e2d3c4b5a69788796a5b4c3d2e1f0".into());
        assert_eq!(
            contained.label(),
            "net:4026532281,pid:77,container:4f1e2d3c4b5a"
        );
    }

    #[test]
    fn this_process_namespace_is_found() {
        let own = inode_of(Path::new("/proc/self/ns/net")).unwrap();
        let all = discover();
        assert_eq!(all.iter().filter(|ns| ns.inode == own).count(), 1);
        let mut inodes: Vec<u64> = all.iter().map(|ns| ns.inode).collect();
        inodes.sort_unstable();
        inodes.dedup();
        assert_eq!(inodes.len(), all.len(), "one entry per inode");
    }

    #[test]
    fn names_paths_and_pids() {
        assert_eq!(namespace_path("blue"), PathBuf::from("/run/netns/blue"));
        assert_eq!(
            namespace_path("/var/run/netns/x"),
            PathBuf::from("/var/run/netns/x")
        );
        assert_eq!(namespace_path("./x"), PathBuf::from("./x"));
        assert_eq!(namespace_path("1234"), PathBuf::from("/proc/1234/ns/net"));
    }
}
