//! Real expectations: FTP (active and passive) and TFTP through the router of
//! `Topology`, whose nftables assign the ftp and tftp helpers. Shared by the tests of
//! `ct list expect` and of `ct watch expect`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};

use super::*;

const FTP_PORT: u16 = 21;
const TFTP_PORT: u16 = 69;

/// An FTP control connection on which the client announces a data port (PORT, or EPRT
/// for IPv6) or asks the server for one (PASV, answered with 227): the router's ftp
/// helper then expects the data connection. The connection stays open (returned) so the
/// expectation lives on.
fn ftp_control(
    topology: &Topology,
    listener: &TcpListener,
    v6: bool,
    passive: bool,
    data_port: u16,
) -> (TcpStream, TcpStream) {
    let server = SocketAddr::new(Topology::server_addr(v6), FTP_PORT);
    let mut client = topology
        .client
        .run_in(|| TcpStream::connect_timeout(&server, NET_TIMEOUT))
        .expect("connect to the ftp port");
    let (mut control, _) = listener.accept().expect("accept");
    for stream in [&client, &control] {
        stream.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
    }
    // Each line is read whole on the other side before the next is sent, as the helper
    // wants; behind a masquerading router it rewrites the addresses in PORT and 227.
    let mut exchange = |from_client: bool, line: String| {
        let (writer, reader) = if from_client {
            (&mut client, &mut control)
        } else {
            (&mut control, &mut client)
        };
        writer.write_all(line.as_bytes()).unwrap();
        let mut got = Vec::new();
        let mut byte = [0u8];
        while got.last() != Some(&b'\n') {
            reader.read_exact(&mut byte).unwrap();
            got.push(byte[0]);
        }
    };
    exchange(false, "220 ready\r\n".to_string());
    exchange(true, "USER ct\r\n".to_string());
    exchange(false, "331 go on\r\n".to_string());
    let (high, low) = (data_port >> 8, data_port & 0xff);
    match (passive, v6) {
        (false, false) => {
            let dotted = CLIENT_V4.replace('.', ",");
            exchange(true, format!("PORT {dotted},{high},{low}\r\n"));
            exchange(false, "200 ok\r\n".to_string());
        }
        (false, true) => {
            exchange(true, format!("EPRT |2|{CLIENT_V6}|{data_port}|\r\n"));
            exchange(false, "200 ok\r\n".to_string());
        }
        (true, false) => {
            exchange(true, "PASV\r\n".to_string());
            let dotted = SERVER_V4.replace('.', ",");
            exchange(
                false,
                format!("227 Entering Passive Mode ({dotted},{high},{low})\r\n"),
            );
        }
        (true, true) => {
            exchange(true, "EPSV\r\n".to_string());
            exchange(
                false,
                format!("229 Entering Extended Passive Mode (|||{data_port}|)\r\n"),
            );
        }
    }
    (client, control)
}

/// A TFTP read request: the tftp helper expects the server's answer from any port.
fn tftp_request(topology: &Topology, v6: bool) {
    let server = SocketAddr::new(Topology::server_addr(v6), TFTP_PORT);
    let any: SocketAddr = if v6 { "[::]:0" } else { "0.0.0.0:0" }.parse().unwrap();
    let receiver = topology
        .server
        .run_in(|| UdpSocket::bind(server))
        .expect("bind tftp");
    receiver.set_read_timeout(Some(NET_TIMEOUT)).unwrap();
    let client = topology
        .client
        .run_in(|| UdpSocket::bind(any))
        .expect("bind");
    client
        .send_to(b"\x00\x01file\x00octet\x00", server)
        .unwrap();
    let mut buffer = [0u8; 64];
    receiver
        .recv_from(&mut buffer)
        .expect("the request reaches the server");
}

/// The router's expectations of every kind: FTP active and passive and TFTP, both
/// families. Returns the control connections, which keep the expectations alive.
pub fn make_expectations(topology: &Topology) -> Vec<(TcpStream, TcpStream)> {
    let mut held = Vec::new();
    for v6 in [false, true] {
        let server = SocketAddr::new(Topology::server_addr(v6), FTP_PORT);
        let listener = topology
            .server
            .run_in(|| TcpListener::bind(server))
            .expect("bind the ftp port");
        held.push(ftp_control(topology, &listener, v6, false, 50_001));
        held.push(ftp_control(topology, &listener, v6, true, 50_021));
        tftp_request(topology, v6);
    }
    held
}
