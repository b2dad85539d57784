//! A network namespace as ct names it: its identity (inode, name, a process in it, that
//! process's container) and the one label entries are tagged with under `--all-netns`.
//! Finding and entering namespaces is the netlink layer's (`netlink::netns`).

use std::path::PathBuf;

/// One network namespace of the host, as `--all-netns` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The namespace's inode: what tells two namespaces apart.
    pub inode: u64,
    /// Its name under /run/netns, when `ip netns add` (or a CNI plugin) gave it one.
    pub name: Option<String>,
    /// The lowest process id in it, when a process is.
    pub pid: Option<u32>,
    /// The container id that process's cgroup names (docker, containerd, cri-o...).
    pub container: Option<String>,
    /// True for the namespace process 1 is in: the host's, unless ct runs in a
    /// container that cannot see the host's processes.
    pub initial: bool,
    /// The file to enter it by.
    pub path: PathBuf,
    /// How errors entering it name it: what the user typed for `--netns`, else the
    /// path.
    pub spec: String,
}

impl Namespace {
    /// How entries are tagged: the name; `host` for the initial namespace; else its
    /// inode, a process in it (to `nsenter -t N -n` by) and that process's container
    /// (the short id docker prints), without spaces so that the tag stays one word:
    /// `net:4026532281,pid:4242,container:4f1e2d3c4b5a`.
    pub fn label(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        if self.initial {
            return "host".into();
        }
        let mut label = format!("net:{}", self.inode);
        if let Some(pid) = self.pid {
            label.push_str(&format!(",pid:{pid}"));
        }
        if let Some(container) = &self.container {
            let short = container.get(..SHORT_CONTAINER_ID).unwrap_or(container);
            label.push_str(&format!(",container:{short}"));
        }
        label
    }
}

/// How much of a container id a label shows: as much as `docker ps` does.
const SHORT_CONTAINER_ID: usize = 12;
