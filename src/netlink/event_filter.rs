//! The kernel-side filter of the event socket: a classic BPF program (being written).
