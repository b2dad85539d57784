//! Building netlink attributes by hand, as the kernel lays them out, for tests that
//! make messages the captures do not have. Included by path.

use ct::kernel::{NLA_F_NESTED, NLA_HDRLEN, NLMSG_ALIGNTO};

/// One attribute: header, value, padding to 4 bytes.
pub fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((NLA_HDRLEN + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    while out.len() % NLMSG_ALIGNTO != 0 {
        out.push(0);
    }
    out
}

/// A nested attribute, NLA_F_NESTED set as the kernel sets it.
pub fn nest(kind: u16, children: &[Vec<u8>]) -> Vec<u8> {
    attr(kind | NLA_F_NESTED, &children.concat())
}
