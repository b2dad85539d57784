//! The requests ct sends: one netfilter message each, of any subsystem and type.
//!
//! A request is the netlink header's type and flags, the nfgenmsg family and a list of
//! attributes. netlink-packet-netfilter types the envelope and emits it. The attributes
//! travel as `DefaultNla`s, because the crate's typed `ConntrackAttribute` cannot set
//! NLA_F_NESTED on an attribute it does not know (the kernel insists on it for
//! CTA_FILTER), and knows nothing of expectations or statistics.

use netlink_packet_core::{DefaultNla, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterMessageInner};

use crate::kernel::*;

/// One message to send to ctnetlink or ctnetlink_exp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// NFNL_SUBSYS_CTNETLINK or NFNL_SUBSYS_CTNETLINK_EXP.
    pub subsystem: u8,
    /// IPCTNL_MSG_CT_GET, IPCTNL_MSG_EXP_GET, IPCTNL_MSG_CT_NEW, ...
    pub message_type: u8,
    /// Netlink flags beside NLM_F_REQUEST, which every request has.
    pub flags: u16,
    /// The nfgenmsg family: AF_UNSPEC, AF_INET or AF_INET6.
    pub family: u8,
    /// The nfgenmsg version: NFNETLINK_V0, except for a flush of one family
    /// (NFNETLINK_V1: the kernel honours the family of a flush only then).
    pub version: u8,
    pub attributes: Vec<DefaultNla>,
    /// What the request does, for error messages: "the conntrack dump".
    pub operation: &'static str,
}

impl Request {
    /// A dump of the conntrack table (IPCTNL_MSG_CT_GET with NLM_F_DUMP).
    pub fn dump_entries(family: u8, attributes: Vec<DefaultNla>) -> Request {
        Request {
            subsystem: NFNL_SUBSYS_CTNETLINK,
            message_type: IPCTNL_MSG_CT_GET,
            flags: NLM_F_DUMP,
            family,
            version: NFNETLINK_V0,
            attributes,
            operation: "the conntrack dump",
        }
    }

    /// A dump of any message type of `subsystem`: expectations, the dying or the
    /// unconfirmed list, per-CPU statistics.
    pub fn dump(subsystem: u8, message_type: u8, family: u8, operation: &'static str) -> Request {
        Request {
            subsystem,
            message_type,
            flags: NLM_F_DUMP,
            family,
            version: NFNETLINK_V0,
            attributes: Vec::new(),
            operation,
        }
    }

    /// A single request, answered by one message or an error, then an acknowledgement.
    pub fn single(
        subsystem: u8,
        message_type: u8,
        family: u8,
        attributes: Vec<DefaultNla>,
        operation: &'static str,
    ) -> Request {
        Request {
            subsystem,
            message_type,
            flags: NLM_F_ACK,
            family,
            version: NFNETLINK_V0,
            attributes,
            operation,
        }
    }

    /// True when the kernel answers with a multipart dump.
    pub fn is_dump(&self) -> bool {
        self.flags & NLM_F_DUMP == NLM_F_DUMP
    }

    /// The request as bytes ready for `send`, stamped with `sequence`.
    pub fn to_bytes(&self, sequence: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.append_to(&mut bytes, sequence, 0);
        bytes
    }

    /// Appends the request to `datagram`, with `extra_flags` beside its own (NLM_F_ACK in
    /// a batch), for batches of many messages in one send.
    pub fn append_to(&self, datagram: &mut Vec<u8>, sequence: u32, extra_flags: u16) {
        let body = NetfilterMessageInner::Other {
            subsys: self.subsystem.into(),
            message_type: self.message_type,
            attributes: self.attributes.clone(),
        };
        let netfilter = NetfilterMessage::new(
            NetfilterHeader::new(self.family.into(), self.version, 0),
            body,
        );
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | self.flags | extra_flags;
        header.sequence_number = sequence;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(netfilter));
        message.finalize();
        let start = datagram.len();
        datagram.resize(start + message.buffer_len(), 0);
        message.serialize(&mut datagram[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_dump_request_bytes() {
        let request = Request::dump_entries(AF_UNSPEC, vec![]);
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
        let request = Request::dump_entries(AF_INET6, vec![]);
        assert_eq!(request.to_bytes(1)[16], AF_INET6);
    }

    #[test]
    fn an_expectation_dump_names_its_subsystem() {
        let request = Request::dump(
            NFNL_SUBSYS_CTNETLINK_EXP,
            IPCTNL_MSG_EXP_GET,
            AF_INET,
            "the expectation dump",
        );
        let bytes = request.to_bytes(1);
        assert_eq!(bytes[4..8], [0x01, 0x02, 0x01, 0x03]);
    }

    #[test]
    fn a_single_request_asks_for_an_ack() {
        let request = Request::single(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_GET_STATS,
            AF_UNSPEC,
            vec![],
            "the statistics request",
        );
        let bytes = request.to_bytes(1);
        assert_eq!(bytes[4..8], [0x05, 0x01, 0x05, 0x00]);
    }

    #[test]
    fn requests_append_back_to_back() {
        let request = Request::dump_entries(AF_INET, vec![]);
        let mut datagram = Vec::new();
        request.append_to(&mut datagram, 1, 0);
        request.append_to(&mut datagram, 2, NLM_F_ACK);
        assert_eq!(datagram.len(), 40);
        assert_eq!(datagram[28], 2, "the second message's sequence");
        assert_eq!(datagram[26], (NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ACK) as u8);
    }
}
