//! Entering another network namespace before the socket opens.
//!
//! A conntrack table belongs to a network namespace, and a netlink socket talks to the
//! namespace it was created in. `--netns` therefore switches this (still single-threaded)
//! process into the target namespace with setns(2), the way `ip netns exec` does, but
//! without the extra process.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

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

/// Moves the calling thread into the network namespace `spec` names.
pub fn enter(spec: &str) -> Result<()> {
    let path = namespace_path(spec);
    let file = File::open(&path).map_err(|err| match err.kind() {
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

#[cfg(test)]
mod tests {
    use super::*;

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
