//! Classic BPF for netlink sockets: the instructions by their kernel names and an
//! assembler of blocks whose jumps name labels. The event filter (`events.rs`) writes
//! its checks with it; the netlink layer attaches the program to the socket
//! (`netlink::attach_program`).
//!
//! A program is a row of blocks. [`assemble_block`] assembles one: the code [`Asm`] is
//! given jumps forward to labels inside the block, and to its end, where the next block
//! starts, so a block can be left out without touching the others. Classic BPF jumps
//! only forward, a conditional jump at most 255 instructions: a block whose jumps do not
//! fit does not assemble.
//!
//! The loads read a netfilter message (netlink header, nfgenmsg, attributes): the
//! offsets of its header's parts, and the kernel's netlink-attribute searches
//! (SKF_AD_NLATTR, SKF_AD_NLATTR_NEST), which find an attribute without loops.

use libc::sock_filter;

use crate::kernel::*;

/// What the program returns to keep a message whole; a smaller number would cut the
/// message to that many bytes.
pub(super) const ACCEPT: u32 = u32::MAX;
/// What the program returns to drop a message.
pub(super) const DROP: u32 = 0;

/// The longest program the kernel takes (BPF_MAXINSNS).
pub const MAX_INSTRUCTIONS: usize = libc::BPF_MAXINSNS as usize;

// Where the parts of a message are. The netlink header's type and flags are host-order
// u16s: the type holds the netfilter subsystem in its high byte and the subsystem's
// message type in its low byte, and NLM_F_CREATE is a bit of the flags' high byte.
// Which byte of a u16 is its low one depends on the host.
const NLMSG_TYPE_OFFSET: u32 = 4;
pub(super) const NLMSG_FLAGS_OFFSET: u32 = 6;
/// Where a host-order u16's low byte is, from the start of the u16.
const LOW_BYTE: u32 = if cfg!(target_endian = "little") { 0 } else { 1 };
pub(super) const MESSAGE_TYPE_BYTE: u32 = NLMSG_TYPE_OFFSET + LOW_BYTE;
pub(super) const SUBSYSTEM_BYTE: u32 = NLMSG_TYPE_OFFSET + (1 - LOW_BYTE);
/// nfgenmsg's family: the first byte after the netlink header.
pub(super) const FAMILY_BYTE: u32 = NLMSG_HDRLEN as u32;
/// The first top-level attribute, after the netlink and nfgenmsg headers.
pub(super) const ATTRIBUTES_OFFSET: u32 = (NLMSG_HDRLEN + NFGENMSG_LEN) as u32;
/// An attribute's value, from its header.
pub(super) const VALUE_OFFSET: u32 = NLA_HDRLEN as u32;

// The netlink-attribute loads (`ld [SKF_AD_OFF + SKF_AD_NLATTR...]`), with X = the type
// sought. FIND_ATTRIBUTE searches the attributes from offset A to the end of the message;
// FIND_NESTED searches inside the nest whose header is at offset A. Both leave in A the
// offset of the attribute's header, or 0 when there is none (the kernel's nla_find, which
// ignores NLA_F_NESTED and checks every length it walks over).
const FIND_ATTRIBUTE: u32 = (libc::SKF_AD_OFF + libc::SKF_AD_NLATTR) as u32;
const FIND_NESTED: u32 = (libc::SKF_AD_OFF + libc::SKF_AD_NLATTR_NEST) as u32;

// The instructions used, by their kernel names (linux/bpf_common.h, linux/filter.h).
const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const LD_H_ABS: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_ABS) as u16;
const LD_B_ABS: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_ABS) as u16;
const LD_W_IND: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_IND) as u16;
const LD_H_IND: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_IND) as u16;
const LD_B_IND: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_IND) as u16;
const LD_W_LEN: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_LEN) as u16;
const LD_IMM: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_IMM) as u16;
const LD_MEM: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_MEM) as u16;
const LDX_IMM: u16 = (libc::BPF_LDX | libc::BPF_W | libc::BPF_IMM) as u16;
const ST: u16 = libc::BPF_ST as u16;
const TAX: u16 = (libc::BPF_MISC | libc::BPF_TAX) as u16;
const AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
pub(super) const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
pub(super) const JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
pub(super) const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// What a BPF half-word load, which reads big-endian, makes of the host-order u16
/// `value`: the netlink header's fields and attribute lengths are host-order.
pub(super) fn as_loaded(value: u16) -> u32 {
    u16::from_be_bytes(value.to_ne_bytes()).into()
}

pub(super) fn statement(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// Assembles one block: `emit` writes code that ends in a verdict or jumps to the label
/// it is given, the end of the block, where the next block starts. None when a jump of
/// the block does not fit an instruction.
pub(super) fn assemble_block(emit: impl FnOnce(&mut Asm, Label)) -> Option<Vec<sock_filter>> {
    let mut asm = Asm::default();
    let end = asm.label();
    emit(&mut asm, end);
    asm.place(end);
    asm.assemble()
}

/// The size of a value loaded from a message.
#[derive(Debug, Clone, Copy)]
pub(super) enum Size {
    Byte,
    Half,
    Word,
}

impl Size {
    pub(super) fn bytes(self) -> u32 {
        match self {
            Size::Byte => 1,
            Size::Half => 2,
            Size::Word => 4,
        }
    }

    /// The mask that keeps the whole value.
    pub(super) fn all_ones(self) -> u32 {
        match self {
            Size::Byte => u8::MAX.into(),
            Size::Half => u16::MAX.into(),
            Size::Word => u32::MAX,
        }
    }

    /// The load of this size at X + k.
    fn indexed_load(self) -> u16 {
        match self {
            Size::Byte => LD_B_IND,
            Size::Half => LD_H_IND,
            Size::Word => LD_W_IND,
        }
    }
}

/// A place in a block, which jumps may name before it is placed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Label(usize);

enum Instruction {
    /// Anything but a jump.
    Plain(sock_filter),
    /// A conditional jump on A and `k`; None goes on to the next instruction.
    Branch {
        code: u16,
        k: u32,
        if_true: Option<Label>,
        if_false: Option<Label>,
    },
    Goto(Label),
}

/// The instructions of one block, their jumps to labels resolved into offsets by
/// [`Asm::assemble`].
#[derive(Default)]
pub(super) struct Asm {
    instructions: Vec<Instruction>,
    /// Where each label was placed: the index of the instruction that follows it.
    places: Vec<Option<usize>>,
}

impl Asm {
    pub(super) fn label(&mut self) -> Label {
        self.places.push(None);
        Label(self.places.len() - 1)
    }

    /// Places `label` before the next instruction.
    pub(super) fn place(&mut self, label: Label) {
        debug_assert!(self.places[label.0].is_none(), "{label:?} placed twice");
        self.places[label.0] = Some(self.instructions.len());
    }

    /// The block's instructions, or None when a jump goes backwards or further than its
    /// instruction can say (255 instructions for a conditional jump).
    fn assemble(self) -> Option<Vec<sock_filter>> {
        let places = &self.places;
        let offset = |from: usize, label: Option<Label>| -> Option<usize> {
            let Some(label) = label else {
                return Some(0);
            };
            let target = places[label.0].expect("every label jumped to is placed");
            target.checked_sub(from + 1)
        };
        let short = |from: usize, label: Option<Label>| u8::try_from(offset(from, label)?).ok();
        self.instructions
            .iter()
            .enumerate()
            .map(|(index, instruction)| match *instruction {
                Instruction::Plain(plain) => Some(plain),
                Instruction::Branch {
                    code,
                    k,
                    if_true,
                    if_false,
                } => Some(sock_filter {
                    code,
                    jt: short(index, if_true)?,
                    jf: short(index, if_false)?,
                    k,
                }),
                Instruction::Goto(label) => {
                    let k = u32::try_from(offset(index, Some(label))?).ok()?;
                    Some(statement(JA, k))
                }
            })
            .collect()
    }

    fn plain(&mut self, code: u16, k: u32) {
        self.instructions
            .push(Instruction::Plain(statement(code, k)));
    }

    pub(super) fn branch(
        &mut self,
        code: u16,
        k: u32,
        if_true: Option<Label>,
        if_false: Option<Label>,
    ) {
        self.instructions.push(Instruction::Branch {
            code,
            k,
            if_true,
            if_false,
        });
    }

    pub(super) fn if_equal(&mut self, k: u32, target: Label) {
        self.branch(JEQ_K, k, Some(target), None);
    }

    pub(super) fn unless_equal(&mut self, k: u32, target: Label) {
        self.branch(JEQ_K, k, None, Some(target));
    }

    pub(super) fn goto(&mut self, target: Label) {
        self.instructions.push(Instruction::Goto(target));
    }

    pub(super) fn ret(&mut self, verdict: u32) {
        self.plain(RET_K, verdict);
    }

    /// A = the byte at `offset` of the message.
    pub(super) fn load_byte(&mut self, offset: u32) {
        self.plain(LD_B_ABS, offset);
    }

    /// A = the big-endian u16 at `offset` of the message.
    pub(super) fn load_half(&mut self, offset: u32) {
        self.plain(LD_H_ABS, offset);
    }

    /// A = the message's length.
    pub(super) fn load_length(&mut self) {
        self.plain(LD_W_LEN, 0);
    }

    /// A = the big-endian number of `size` at X + `offset`.
    pub(super) fn load_value(&mut self, size: Size, offset: u32) {
        self.plain(size.indexed_load(), offset);
    }

    pub(super) fn and(&mut self, mask: u32) {
        self.plain(AND_K, mask);
    }

    pub(super) fn store(&mut self, slot: u32) {
        self.plain(ST, slot);
    }

    pub(super) fn load_stored(&mut self, slot: u32) {
        self.plain(LD_MEM, slot);
    }

    /// A = the offset of the top-level attribute `kind`, or 0 when there is none.
    pub(super) fn find_top_level(&mut self, kind: u16) {
        self.plain(LD_IMM, ATTRIBUTES_OFFSET);
        self.plain(LDX_IMM, kind.into());
        self.plain(LD_W_ABS, FIND_ATTRIBUTE);
    }

    /// A = the offset of attribute `kind` inside the nest at A, or 0 when there is none.
    pub(super) fn find_nested(&mut self, kind: u16) {
        self.plain(LDX_IMM, kind.into());
        self.plain(LD_W_ABS, FIND_NESTED);
    }

    /// A = the offset of the attribute at the end of `path` (a top-level attribute, then
    /// one inside it, ...); jumps to `missing` at the first one missing.
    pub(super) fn find_path(&mut self, path: &[u16], missing: Label) {
        for (depth, &kind) in path.iter().enumerate() {
            if depth == 0 {
                self.find_top_level(kind);
            } else {
                self.find_nested(kind);
            }
            self.if_equal(0, missing);
        }
    }

    /// X = A, the offset of an attribute found; jumps to `unexpected` unless its value
    /// has `size` bytes, as the kernel always makes it. Loading beyond the message's end
    /// would drop the message, and the kernel's search has checked the length against
    /// the message: so after this, loads of the value are safe.
    pub(super) fn enter_value(&mut self, size: u32, unexpected: Label) {
        let length = u16::try_from(NLA_HDRLEN as u32 + size).expect("a fixed-size value");
        self.plain(TAX, 0);
        self.plain(LD_H_IND, 0);
        self.unless_equal(as_loaded(length), unexpected);
    }
}

#[cfg(test)]
pub(super) mod testing {
    //! An interpreter of classic BPF that knows exactly the instructions the assembler
    //! emits, as the kernel runs them (net/core/filter.c), and netfilter messages for it
    //! to run on: the programs' tests run here.

    use super::*;

    /// A netlink message: header, nfgenmsg, attributes.
    pub(in crate::filter) fn message(
        subsystem: u8,
        message_type: u8,
        flags: u16,
        family: u8,
        attrs: &[u8],
    ) -> Vec<u8> {
        let length = NLMSG_HDRLEN + NFGENMSG_LEN + attrs.len();
        let mut bytes = Vec::with_capacity(length);
        bytes.extend((length as u32).to_ne_bytes());
        bytes.extend(nfnl_type(subsystem, message_type).to_ne_bytes());
        bytes.extend(flags.to_ne_bytes());
        bytes.extend(1u32.to_ne_bytes()); // sequence
        bytes.extend(0u32.to_ne_bytes()); // port id
        bytes.extend([family, NFNETLINK_V0]);
        bytes.extend(0u16.to_be_bytes()); // res_id
        bytes.extend(attrs);
        bytes
    }

    /// The verdict of `program` on `message`.
    pub(in crate::filter) fn run(program: &[sock_filter], message: &[u8]) -> u32 {
        let (mut a, mut x, mut memory) = (0u32, 0u32, [0u32; 16]);
        let mut pc = 0;
        loop {
            let instruction = program[pc];
            let k = instruction.k;
            pc += 1;
            let jump = |condition: bool| {
                usize::from(if condition {
                    instruction.jt
                } else {
                    instruction.jf
                })
            };
            match instruction.code {
                LD_IMM => a = k,
                LDX_IMM => x = k,
                LD_W_LEN => a = message.len() as u32,
                LD_MEM => a = memory[k as usize],
                ST => memory[k as usize] = a,
                TAX => x = a,
                AND_K => a &= k,
                LD_W_ABS if k == FIND_ATTRIBUTE => a = find_attribute(message, a, x),
                LD_W_ABS if k == FIND_NESTED => a = find_nested(message, a, x),
                LD_W_ABS | LD_H_ABS | LD_B_ABS | LD_W_IND | LD_H_IND | LD_B_IND => {
                    let indexed = matches!(instruction.code, LD_W_IND | LD_H_IND | LD_B_IND);
                    let offset = if indexed { x.checked_add(k) } else { Some(k) };
                    assert!(
                        indexed || k < libc::SKF_AD_OFF as u32,
                        "unknown ancillary load {k:#x}"
                    );
                    // Out of the message: the kernel ends the program with 0.
                    match offset.and_then(|offset| load(message, instruction.code, offset)) {
                        Some(value) => a = value,
                        None => return 0,
                    }
                }
                JA => pc += k as usize,
                JEQ_K => pc += jump(a == k),
                JGE_K => pc += jump(a >= k),
                JSET_K => pc += jump(a & k != 0),
                RET_K => return k,
                code => panic!("the interpreter does not know instruction {code:#x}"),
            }
        }
    }

    /// The big-endian number the load `code` reads at `offset`, if it is in the message.
    pub(super) fn load(message: &[u8], code: u16, offset: u32) -> Option<u32> {
        let size = match code {
            LD_B_ABS | LD_B_IND => 1,
            LD_H_ABS | LD_H_IND => 2,
            _ => 4,
        };
        let start = usize::try_from(offset).ok()?;
        let bytes = message.get(start..start.checked_add(size)?)?;
        Some(bytes.iter().fold(0, |value, &b| value << 8 | u32::from(b)))
    }

    /// bpf_skb_get_nlattr: the attribute of type `kind` among those from `start` on.
    fn find_attribute(message: &[u8], start: u32, kind: u32) -> u32 {
        let len = message.len();
        if len < NLA_HDRLEN || start as usize > len - NLA_HDRLEN {
            return 0;
        }
        nla_find(message, start as usize, len as isize - start as isize, kind)
    }

    /// bpf_skb_get_nlattr_nest: the attribute of type `kind` inside the nest at `nest`.
    fn find_nested(message: &[u8], nest: u32, kind: u32) -> u32 {
        let (len, nest) = (message.len(), nest as usize);
        if len < NLA_HDRLEN || nest > len - NLA_HDRLEN {
            return 0;
        }
        let nest_len = usize::from(u16::from_ne_bytes([message[nest], message[nest + 1]]));
        if nest_len > len - nest {
            return 0;
        }
        nla_find(
            message,
            nest + NLA_HDRLEN,
            nest_len as isize - NLA_HDRLEN as isize,
            kind,
        )
    }

    /// The kernel's nla_find over `remaining` bytes from `at`, checking each length as
    /// nla_ok does.
    fn nla_find(message: &[u8], mut at: usize, mut remaining: isize, kind: u32) -> u32 {
        while remaining >= NLA_HDRLEN as isize {
            let header = &message[at..at + NLA_HDRLEN];
            let length = u16::from_ne_bytes([header[0], header[1]]);
            let found_kind = u16::from_ne_bytes([header[2], header[3]]) & NLA_TYPE_MASK;
            if usize::from(length) < NLA_HDRLEN || length as isize > remaining {
                break;
            }
            if u32::from(found_kind) == kind {
                return at as u32;
            }
            let aligned = nlmsg_align(length.into());
            at += aligned;
            remaining -= aligned as isize;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{load, message, run};
    use super::*;

    #[test]
    fn the_interpreter_drops_on_a_load_beyond_the_message() {
        let program = [statement(LD_W_ABS, 30), statement(RET_K, 7)];
        assert_eq!(run(&program, &[0; 34]), 7);
        assert_eq!(run(&program, &[0; 33]), 0);
    }

    #[test]
    fn labels_resolve_forward_within_a_byte() {
        let block = |jumps: usize| {
            assemble_block(|asm, end| {
                for k in 0..jumps {
                    asm.if_equal(k as u32, end);
                }
                asm.ret(DROP);
            })
        };
        let near = block(255).unwrap();
        assert_eq!((near[0].jt, near[0].jf), (255, 0));
        assert_eq!((near[254].jt, near[254].jf), (1, 0));
        assert!(block(256).is_none());
        // A backward jump is no classic BPF.
        let backward = assemble_block(|asm, _| {
            let back = asm.label();
            asm.place(back);
            asm.load_byte(0);
            asm.if_equal(1, back);
            asm.ret(DROP);
        });
        assert!(backward.is_none());
        // Unconditional jumps go further.
        let far = assemble_block(|asm, end| {
            asm.goto(end);
            for _ in 0..300 {
                asm.ret(DROP);
            }
        })
        .unwrap();
        assert_eq!((far[0].code, far[0].k), (JA, 300));
    }

    #[test]
    fn byte_offsets_follow_the_hosts_byte_order() {
        let header = message(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_CT_DELETE, 0, 0, &[]);
        assert_eq!(header[SUBSYSTEM_BYTE as usize], NFNL_SUBSYS_CTNETLINK_EXP);
        assert_eq!(header[MESSAGE_TYPE_BYTE as usize], IPCTNL_MSG_CT_DELETE);
        let flags = message(0, 0, NLM_F_CREATE, 0, &[]);
        let loaded = load(&flags, LD_H_ABS, NLMSG_FLAGS_OFFSET).unwrap();
        assert_eq!(loaded, as_loaded(NLM_F_CREATE));
    }
}
