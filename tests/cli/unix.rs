//! Unix domain sockets (`-x`), on sockets the test creates, compared with `ss -xp`.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::{explain, json};

fn me() -> u64 {
    u64::from(std::process::id())
}

/// A socket path of the test's own, removed when dropped.
struct SocketPath(PathBuf);

impl SocketPath {
    fn new(name: &str) -> SocketPath {
        let path = std::env::temp_dir().join(format!("ports-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        SocketPath(path)
    }

    fn text(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn by_inode(sockets: &[Value], inode: u64) -> Option<&Value> {
    sockets.iter().find(|s| s["inode"] == inode)
}

/// The inode of our fd `fd`: /proc/self/fd links read `socket:[INODE]`.
fn inode_of(fd: &impl std::os::fd::AsRawFd) -> u64 {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    let link = link.to_str().unwrap();
    link.trim_start_matches("socket:[")
        .trim_end_matches(']')
        .parse()
        .unwrap()
}

#[test]
fn listeners_pairs_datagrams_and_abstract_names_are_listed() {
    let path = SocketPath::new("stream");
    let listener = UnixListener::bind(&path.0).unwrap();
    let client = UnixStream::connect(&path.0).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let dgram_path = SocketPath::new("dgram");
    let dgram = UnixDatagram::bind(&dgram_path.0).unwrap();
    let name = format!("ports-test-{}", std::process::id());
    let abstract_listener =
        UnixListener::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();

    let (sockets, output) = json(&["-x"]);
    let why = explain(&["-x", "--json"], &output);
    let check = |fd: &dyn Fn() -> u64, kind: &str, state: &str, name: Option<(&str, &str)>| {
        let socket = by_inode(&sockets, fd()).unwrap_or_else(|| panic!("{kind} {state}: {why}"));
        assert_eq!(
            (&socket["proto"], &socket["unix_type"]),
            (&"unix".into(), &kind.into()),
            "{why}"
        );
        assert_eq!(socket["state"], state, "{why}");
        assert_eq!(socket["processes"][0]["pid"], me(), "{why}");
        if let Some((field, value)) = name {
            assert_eq!(socket[field], value, "{why}");
        }
        socket.clone()
    };
    check(
        &|| inode_of(&listener),
        "stream",
        "listen",
        Some(("path", path.text())),
    );
    let client_row = check(&|| inode_of(&client), "stream", "established", None);
    // The client shows what it talks to: its peer, the accepted socket, carries the path.
    assert_eq!(client_row["peer"], path.text(), "{why}");
    assert_eq!(client_row["peer_inode"], inode_of(&accepted), "{why}");
    check(
        &|| inode_of(&dgram),
        "dgram",
        "unconn",
        Some(("path", dgram_path.text())),
    );
    check(
        &|| inode_of(&abstract_listener),
        "stream",
        "listen",
        Some(("abstract", name.as_str())),
    );
    assert!(
        sockets.iter().all(|s| s["proto"] == "unix"),
        "-x alone lists Unix only: {why}"
    );
    compare_with_ss(&[inode_of(&listener), inode_of(&client), inode_of(&dgram)]);
}

/// ss -xp lists the same inodes, owned by us.
fn compare_with_ss(inodes: &[u64]) {
    let ss = Command::new("ss").args(["-xapH"]).output().unwrap();
    let text = String::from_utf8_lossy(&ss.stdout);
    for inode in inodes {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().nth(5) == Some(&inode.to_string()))
            .unwrap_or_else(|| panic!("ss -xap has no inode {inode}:\n{text}"));
        assert!(line.contains(&format!("pid={}", me())), "{line}");
    }
}

#[test]
fn a_socketpair_shows_each_peer_by_inode_as_ss_does_and_its_owner_with_w() {
    let (one, other) = UnixStream::pair().unwrap();
    let (one, other) = (inode_of(&one), inode_of(&other));
    let args = ["-x", "--color", "never", "-w"];
    let output = crate::support::ports().args(args).output().unwrap();
    let (why, text) = (
        explain(&args, &output),
        String::from_utf8_lossy(&output.stdout),
    );
    for (inode, peer) in [(one, other), (other, one)] {
        let ss_peer = ss_peer_of(inode);
        assert_eq!(ss_peer, format!("* {peer}"), "ss -xpH");
        // PROTO, LOCAL `* INODE`, REMOTE `* PEER (PROGRAM PID)`: tokens 1-2, then 3-6.
        let row = line_naming(&text, 1, inode, 7);
        let row = row.unwrap_or_else(|| panic!("no row with LOCAL * {inode}: {why}"));
        assert_eq!(row[3..5].join(" "), ss_peer, "REMOTE as ss: {why}");
        assert!(row[5].starts_with('('), "the peer's owner: {why}");
        assert_eq!(row[6], format!("{})", me()), "the peer's owner pid: {why}");
    }
}

/// ss's peer column for the socket `inode`: `* PEER` for an unnamed peer.
fn ss_peer_of(inode: u64) -> String {
    let ss = Command::new("ss").args(["-xpH"]).output().unwrap();
    let text = String::from_utf8_lossy(&ss.stdout);
    let line = line_naming(&text, 4, inode, 8);
    let line = line.unwrap_or_else(|| panic!("ss -xpH has no * {inode}:\n{text}"));
    line[6..8].join(" ")
}

/// The words of the first line of `text` whose words `at` and `at + 1` are `*` and `inode`
/// (an unnamed socket as ss writes it), of at least `words` words.
fn line_naming(text: &str, at: usize, inode: u64, words: usize) -> Option<Vec<&str>> {
    let inode = inode.to_string();
    let lines = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>());
    lines
        .into_iter()
        .find(|t| t.len() >= words && t[at..at + 2] == ["*", inode.as_str()])
}

#[test]
fn a_path_argument_finds_the_listener_and_filters_apply() {
    let path = SocketPath::new("arg");
    let listener = UnixListener::bind(&path.0).unwrap();
    let client = UnixStream::connect(&path.0).unwrap();
    let _accepted = listener.accept().unwrap();
    let (sockets, output) = json(&["-l", path.text()]);
    let why = explain(&["-l", path.text()], &output);
    let [socket] = &sockets[..] else {
        panic!("one listener expected: {why}")
    };
    assert_eq!(socket["inode"], inode_of(&listener), "{why}");
    let dir = format!("{}/", std::env::temp_dir().display());
    let (sockets, _) = json(&["-x", "--pid", &me().to_string(), &dir]);
    assert!(
        by_inode(&sockets, inode_of(&listener)).is_some(),
        "a path prefix matches"
    );
    let (sockets, _) = json(&["-x", "--state", "established", path.text()]);
    assert!(sockets.iter().all(|s| s["state"] == "established"));
    // Like a port, a path matches the client too: its peer carries the path.
    assert!(
        by_inode(&sockets, inode_of(&client)).is_some(),
        "the client of the path"
    );
    let (none, output) = json(&["-x", "-c", "no-such-process-name", path.text()]);
    assert!(none.is_empty() && output.status.code() == Some(1));
    // -t -u -x lists both kinds; the default lists no Unix socket.
    let (all, _) = json(&["-tux"]);
    assert!(all.iter().any(|s| s["proto"] == "unix") && all.iter().any(|s| s["proto"] != "unix"));
    let (default, _) = json(&[]);
    assert!(default.iter().all(|s| s["proto"] != "unix"));
}

#[test]
fn csv_names_unix_sockets_by_path_and_abstract_name() {
    let path = SocketPath::new("csv");
    let _listener = UnixListener::bind(&path.0).unwrap();
    let name = format!("ports-csv-{}", std::process::id());
    let _abstract = UnixListener::bind_addr(&SocketAddr::from_abstract_name(&name).unwrap());
    let args = ["-x", "-l", "--csv"];
    let output = crate::support::ports().args(args).output().unwrap();
    let why = explain(&args, &output);
    let mut reader = csv::Reader::from_reader(&output.stdout[..]);
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "unix_name");
    let column = column.unwrap_or_else(|| panic!("no unix_name column: {why}"));
    let names: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[column].to_owned())
        .collect();
    assert!(names.iter().any(|n| n == path.text()), "{why}");
    // A leading `@` is quoted as a spreadsheet formula would be (docs/json.md).
    assert!(names.contains(&format!("'@{name}")), "{why}");
}
