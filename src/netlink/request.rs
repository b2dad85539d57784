//! Building the dump request the kernel is sent.
//!
//! The request is one IPCTNL_MSG_CT_GET message of NFNL_SUBSYS_CTNETLINK with
//! NLM_F_REQUEST | NLM_F_DUMP. Its nfgenmsg family selects the layer-3 family to dump
//! (AF_UNSPEC for all). netlink-packet-netfilter types the message and emits it, which is
//! what that crate is good at. The attributes travel as `DefaultNla`s inside
//! `ConntrackMessage::Other`, because the crate's typed `ConntrackAttribute` cannot set
//! NLA_F_NESTED on an attribute it does not know, and the kernel insists on it for
//! CTA_FILTER.

use netlink_packet_core::{DefaultNla, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_netfilter::conntrack::ConntrackMessage;
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage};

use crate::kernel::{IPCTNL_MSG_CT_GET, NFNETLINK_V0, NLM_F_DUMP, NLM_F_REQUEST};

/// What to ask the kernel for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DumpRequest {
    /// AF_UNSPEC, AF_INET or AF_INET6.
    pub family: u8,
    /// Attributes that make the kernel filter the dump itself.
    pub attributes: Vec<DefaultNla>,
}

impl DumpRequest {
    /// The request as bytes ready for `send`, stamped with `sequence`.
    pub fn to_bytes(&self, sequence: u32) -> Vec<u8> {
        let body = ConntrackMessage::Other {
            message_type: IPCTNL_MSG_CT_GET,
            attributes: self.attributes.clone(),
        };
        let netfilter = NetfilterMessage::new(
            NetfilterHeader::new(self.family.into(), NFNETLINK_V0, 0),
            body,
        );
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = sequence;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(netfilter));
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{AF_INET6, AF_UNSPEC};

    #[test]
    fn plain_dump_request_bytes() {
        let request = DumpRequest {
            family: AF_UNSPEC,
            attributes: vec![],
        };
        #[rustfmt::skip]
        let expected: &[u8] = &[
            20, 0, 0, 0,     // nlmsg_len
            0x01, 0x01,      // type: NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET
            0x01, 0x03,      // flags: NLM_F_REQUEST | NLM_F_DUMP
            7, 0, 0, 0,      // sequence
            0, 0, 0, 0,      // port id: the kernel fills it in
            0, 0, 0, 0,      // nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id 0
        ];
        assert_eq!(request.to_bytes(7), expected);
    }

    #[test]
    fn family_goes_into_nfgenmsg() {
        let request = DumpRequest {
            family: AF_INET6,
            attributes: vec![],
        };
        assert_eq!(request.to_bytes(1)[16], AF_INET6);
    }
}
