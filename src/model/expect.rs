//! An expectation: a connection a helper (ftp, tftp, sip...) announced before it
//! arrives, so that it can be related to its master connection and NATed like it.

use crate::kernel::NF_CT_EXPECT_NAMES;
use crate::model::entry::{Family, Tuple};

/// One expectation, as `conntrack -L expect` knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectation<'a> {
    /// The family of the message (CTA_EXPECT_* tuples carry none of their own).
    pub family: Family,
    /// The connection expected (CTA_EXPECT_TUPLE).
    pub expected: Tuple,
    /// Which bits of `expected` must match (CTA_EXPECT_MASK): the kernel lets only the
    /// source address and source port vary.
    pub mask: Tuple,
    /// The original tuple of the connection that announced it (CTA_EXPECT_MASTER).
    pub master: Tuple,
    /// Seconds left (CTA_EXPECT_TIMEOUT).
    pub timeout: Option<u32>,
    pub id: Option<u32>,
    /// NF_CT_EXPECT_* bits (CTA_EXPECT_FLAGS).
    pub flags: Option<u32>,
    /// The helper's class of expectation (CTA_EXPECT_CLASS): 0 for ftp and tftp.
    pub class: Option<u32>,
    /// CTA_EXPECT_ZONE; current kernels never send it.
    pub zone: Option<u16>,
    /// The helper that made it (CTA_EXPECT_HELP_NAME), e.g. `ftp`.
    pub helper: Option<&'a [u8]>,
    /// Where NAT will send the expected connection (CTA_EXPECT_NAT).
    pub nat: Option<ExpectNat>,
    /// The kernel function run when it arrives (CTA_EXPECT_FN), e.g. `nat-follow-master`.
    pub function: Option<&'a [u8]>,
}

/// The NAT an expected connection inherits: in which direction, and the saved address
/// and port (the helpers keep only the port; the address is then zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectNat {
    /// IP_CT_DIR_ORIGINAL or IP_CT_DIR_REPLY.
    pub direction: u32,
    pub tuple: Tuple,
}

/// An expectation to create (conntrack -I expect): the kernel attaches it to its master,
/// an entry which must exist and have a helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewExpectation {
    pub family: Family,
    /// The master entry's original tuple (CTA_EXPECT_MASTER).
    pub master: Tuple,
    /// The connection expected (CTA_EXPECT_TUPLE).
    pub expected: Tuple,
    /// Which bits of `expected` must match (CTA_EXPECT_MASK); the kernel keeps only the
    /// source address and port of it.
    pub mask: Tuple,
    /// Seconds it lives (CTA_EXPECT_TIMEOUT).
    pub timeout: u32,
    /// The zone the master is looked up in (CTA_EXPECT_ZONE).
    pub zone: Option<u16>,
}

impl NewExpectation {
    /// Why the kernel would not create the expectation, in words for people (`errno`
    /// as it answered).
    pub fn refusal(errno: i32) -> String {
        let os = std::io::Error::from_raw_os_error(errno);
        match errno {
            libc::ENOENT => format!(
                "no entry has the master tuple (-s, -d, -p and its ports) ({os}); create \
                 the master first, or give the tuple of an existing one"
            ),
            libc::EOPNOTSUPP => format!(
                "the master entry has no helper ({os}); the kernel attaches expectations \
                 only to an entry with one: create the master with --helper (ct create \
                 --helper ftp ...), or let a helper's traffic make it"
            ),
            libc::EEXIST => {
                format!("an expectation of this expected tuple exists already ({os})")
            }
            libc::EINVAL => format!(
                "the kernel refused the expectation as invalid ({os}); the expected tuple \
                 and the mask must be of the master's family and protocol"
            ),
            libc::EPERM | libc::EACCES => format!(
                "permission denied changing the expectation table ({os}); run as root or \
                 with CAP_NET_ADMIN"
            ),
            libc::EMFILE | libc::ENOMEM | libc::ENOSPC => format!(
                "the kernel had no room for the expectation ({os}): the master's helper \
                 allows only so many, and nf_conntrack_expect_max caps the table"
            ),
            _ => format!("the kernel refused the expectation: {os}"),
        }
    }
}

impl Expectation<'_> {
    /// The names of the NF_CT_EXPECT_* flags set, in conntrack's order.
    pub fn flag_names(&self) -> impl Iterator<Item = &'static str> {
        let flags = self.flags.unwrap_or(0);
        NF_CT_EXPECT_NAMES
            .iter()
            .filter(move |(bit, _)| flags & bit != 0)
            .map(|(_, name)| *name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::*;
    use crate::model::entry::L4;

    #[test]
    fn flags_in_conntracks_order() {
        let tuple = Tuple {
            src: None,
            dst: None,
            protonum: IPPROTO_TCP,
            l4: L4::None,
            zone: None,
        };
        let mut expectation = Expectation {
            family: Family::Ipv4,
            expected: tuple,
            mask: tuple,
            master: tuple,
            timeout: None,
            id: None,
            flags: Some(NF_CT_EXPECT_USERSPACE | NF_CT_EXPECT_PERMANENT | 0x80),
            class: None,
            zone: None,
            helper: None,
            nat: None,
            function: None,
        };
        let names: Vec<_> = expectation.flag_names().collect();
        assert_eq!(names, ["PERMANENT", "USERSPACE"]);
        expectation.flags = None;
        assert_eq!(expectation.flag_names().count(), 0);
    }
}
