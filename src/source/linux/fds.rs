//! Which processes hold which sockets: the `socket:[INODE]` links under every /proc/PID/fd.
//!
//! This scan is most of the cost of listing owners (../../../docs/performance.md). It opens each
//! fd directory once, lists it, then reads the links with `readlinkat` on that directory into a
//! stack buffer, in chunks of fds shared between threads: one process may hold most sockets, so
//! splitting by process would leave a core idle.

use std::collections::{HashMap, HashSet};
use std::ffi::CStr;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use rustix::fs::{CWD, Dir, Mode, OFlags, openat, readlinkat_raw};
use rustix::io::Errno;

use super::process::start_ticks_at;

/// Fds read by one thread at a time: small enough to balance, large enough to be cheap to hand out.
const CHUNK: usize = 512;

/// Socket owners: `(inode, pid)` pairs sorted by inode, so one socket's owners are adjacent.
#[derive(Debug, Default)]
pub struct OwnerMap {
    pairs: Vec<(u32, u32)>,
    /// Processes whose fds the kernel refused to show (another user's without root; another
    /// user namespace or an LSM even as root).
    pub refused: usize,
    /// /proc listed our own process: without that, it is empty or not the real /proc.
    pub saw_self: bool,
    /// The users the refused processes run as.
    pub refused_uids: Vec<u32>,
    /// `(pid, start time)` of each holder, read through its open fd directory, so it is the
    /// start of the very process whose fds were read; sorted by pid.
    pub starts: Vec<(u32, u64)>,
    /// `(pid, fds listed)` of each process read, sorted by pid: a second look reads again only
    /// those whose count moved.
    fd_counts: Vec<(u32, usize)>,
}

impl OwnerMap {
    /// The pids holding `inode`, ascending, each once.
    pub fn pids(&self, inode: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.pairs.partition_point(|&(i, _)| i < inode);
        let holders = self.pairs[start..]
            .iter()
            .take_while(move |&&(i, _)| i == inode);
        holders.map(|&(_, pid)| pid)
    }

    fn from_pairs(mut pairs: Vec<(u32, u32)>, refused: usize, saw_self: bool) -> OwnerMap {
        pairs.sort_unstable();
        pairs.dedup(); // a process may hold one socket through several fds
        OwnerMap {
            pairs,
            refused,
            saw_self,
            refused_uids: Vec::new(),
            starts: Vec::new(),
            fd_counts: Vec::new(),
        }
    }

    /// How many fds `pid` had when it was read.
    fn fd_count(&self, pid: u32) -> Option<usize> {
        let found = self
            .fd_counts
            .binary_search_by_key(&pid, |&(p, _)| p)
            .ok()?;
        Some(self.fd_counts[found].1)
    }

    /// Adds what a second look found.
    pub fn absorb(&mut self, other: OwnerMap) {
        self.pairs.extend(other.pairs);
        self.pairs.sort_unstable();
        self.pairs.dedup();
        self.starts.extend(other.starts);
        self.starts.sort_unstable();
        self.starts.dedup_by_key(|&mut (pid, _)| pid);
    }

    fn with_starts(mut self, mut starts: Vec<(u32, u64)>) -> OwnerMap {
        starts.sort_unstable();
        self.starts = starts;
        self
    }
}

/// One process's open fd directory and the fd numbers listed in it.
struct FdDir {
    pid: u32,
    dir: OwnedFd,
    fds: Vec<u32>,
}

/// Reads every process's socket links on `threads` threads.
pub fn scan(threads: usize) -> rustix::io::Result<OwnerMap> {
    let pids = list_pids()?;
    let saw_self = pids.contains(&std::process::id());
    let mut read = read_processes(threads, &pids);
    let mut map = OwnerMap::from_pairs(read.pairs, read.refused.len(), saw_self);
    map.refused_uids = owners_of(&read.refused);
    read.fd_counts.sort_unstable();
    map.fd_counts = read.fd_counts;
    Ok(map.with_starts(read.starts))
}

/// Reads only `pids`' sockets.
pub fn scan_pids(threads: usize, pids: &[u32]) -> OwnerMap {
    let read = read_processes(threads, pids);
    OwnerMap::from_pairs(read.pairs, 0, true).with_starts(read.starts)
}

/// Reads again the processes running as one of `uids` whose fds changed since `seen` (or that
/// `seen` did not read): a socket opened after its process's fds were read has no owner in the
/// first scan, its creator's uid says whose to read, and its fd count has moved. A stat of each
/// fd directory is all the others cost.
pub fn scan_changed(
    threads: usize,
    uids: &HashSet<u32>,
    seen: &OwnerMap,
) -> rustix::io::Result<OwnerMap> {
    // A kernel that gives no count (before 6.2) says 0: a process that had fds then moved.
    let moved = |pid: u32| {
        let now = usize::try_from(fd_count(pid)).unwrap_or(0);
        seen.fd_count(pid) != Some(now)
    };
    let pids: Vec<u32> = list_pids()?
        .into_iter()
        .filter(|&pid| uid_of(pid).is_some_and(|uid| uids.contains(&uid)) && moved(pid))
        .collect();
    let read = read_processes(threads, &pids);
    Ok(OwnerMap::from_pairs(read.pairs, 0, true).with_starts(read.starts))
}

/// Scans that may reuse what processes held, between two full scans.
const FULL_SCAN_EVERY: u32 = 5;

/// What each process held at the last scan, for a watch. A process whose fd count (the size
/// the kernel gives /proc/PID/fd) has not changed is taken to hold what it held and is not read
/// again. A count cannot see a close followed by an open: the caller checks the result against
/// the dump, and forgets this memory (a full scan next) when a new socket has no owner. Nor can
/// it see a process swap a socket another process also holds for a file, or a pid reused with
/// the same count: every fifth scan is full, so such an owner is wrong for at most that long.
#[derive(Debug, Default)]
pub struct FdMemory {
    /// pid -> what it held. Refused processes are never remembered.
    held: HashMap<u32, Held>,
    /// Processes the last scan did not read again.
    pub reused: usize,
    since_full: u32,
}

impl FdMemory {
    pub fn forget(&mut self) {
        self.held.clear();
    }
}

/// What one process held at the last scan.
#[derive(Debug, Default)]
struct Held {
    fd_count: i64,
    inodes: Vec<u32>,
    start: Option<u64>,
}

/// Like `scan`, reading again only the processes whose fd count changed since `memory`.
pub fn scan_remembering(threads: usize, memory: &mut FdMemory) -> rustix::io::Result<OwnerMap> {
    memory.since_full = (memory.since_full + 1) % FULL_SCAN_EVERY;
    if memory.since_full == 0 {
        memory.forget();
    }
    let pids = list_pids()?;
    let saw_self = pids.contains(&std::process::id());
    let counts: Vec<(u32, i64)> = in_parallel(threads, &pids, |&pid, found| {
        found.push((pid, fd_count(pid)));
    });
    let unchanged = |&(pid, count): &(u32, i64)| {
        count > 0
            && memory
                .held
                .get(&pid)
                .is_some_and(|held| held.fd_count == count)
    };
    let (kept, changed): (Vec<_>, Vec<_>) = counts.into_iter().partition(unchanged);
    memory.reused = kept.len();
    let changed_pids: Vec<u32> = changed.iter().map(|&(pid, _)| pid).collect();
    let Read {
        mut pairs,
        refused,
        mut starts,
        ..
    } = read_processes(threads, &changed_pids);
    starts.sort_unstable();
    let mut held = newly_held(&changed, &refused, &pairs, &starts);
    for (pid, _) in kept {
        if let Some(was) = memory.held.remove(&pid) {
            pairs.extend(was.inodes.iter().map(|&inode| (inode, pid)));
            starts.extend(was.start.map(|start| (pid, start)));
            held.insert(pid, was);
        }
    }
    memory.held = held;
    let mut map = OwnerMap::from_pairs(pairs, refused.len(), saw_self);
    map.refused_uids = owners_of(&refused);
    map.fd_counts = fd_counts_of(&memory.held);
    Ok(map.with_starts(starts))
}

/// What each remembered process's fd count was, for a second look.
fn fd_counts_of(held: &HashMap<u32, Held>) -> Vec<(u32, usize)> {
    let counts = held.iter().map(|(&pid, held)| (pid, held.fd_count));
    let mut counts: Vec<(u32, usize)> = counts
        .map(|(pid, count)| (pid, usize::try_from(count).unwrap_or(0)))
        .collect();
    counts.sort_unstable();
    counts
}

/// What the processes read again hold now (`starts` sorted by pid). A refused process is read
/// (and counted) every time: its sockets stay hidden, not empty.
fn newly_held(
    changed: &[(u32, i64)],
    refused: &[u32],
    pairs: &[(u32, u32)],
    starts: &[(u32, u64)],
) -> HashMap<u32, Held> {
    let readable = changed.iter().filter(|(pid, _)| !refused.contains(pid));
    let mut held: HashMap<u32, Held> = readable
        .map(|&(pid, fd_count)| {
            // Sorted by pid: one search each, not a walk of every start per process.
            let found = starts.binary_search_by_key(&pid, |&(p, _)| p).ok();
            let start = found.map(|at| starts[at].1);
            let inodes = Vec::new();
            (
                pid,
                Held {
                    fd_count,
                    inodes,
                    start,
                },
            )
        })
        .collect();
    for &(inode, pid) in pairs {
        if let Some(process) = held.get_mut(&pid) {
            process.inodes.push(inode);
        }
    }
    held
}

/// The number of fds `pid` has open, or 0 where the kernel does not say (before Linux 6.2).
fn fd_count(pid: u32) -> i64 {
    let mut path = [0u8; 32];
    let path = c_path(&mut path, format_args!("/proc/{pid}/fd"));
    rustix::fs::stat(path).map_or(0, |stat| stat.st_size)
}

/// What reading some processes' fds found.
struct Read {
    /// `(inode, pid)` socket links.
    pairs: Vec<(u32, u32)>,
    /// The pids whose fds the kernel refused.
    refused: Vec<u32>,
    /// `(pid, start time)` of the processes that hold a socket.
    starts: Vec<(u32, u64)>,
    /// `(pid, fds listed)` of the processes read.
    fd_counts: Vec<(u32, usize)>,
}

/// Reads the socket links of `pids`, and the start time of those holding one.
fn read_processes(threads: usize, pids: &[u32]) -> Read {
    let refused = Mutex::new(Vec::new());
    let refuse = |pid| {
        refused
            .lock()
            .map(|mut all| all.push(pid))
            .unwrap_or_default()
    };
    let dirs: Vec<FdDir> = in_parallel(threads, pids, |pid, found: &mut Vec<FdDir>| {
        match open_fd_dir(*pid) {
            Ok(dir) => found.push(dir),
            Err(Errno::ACCESS | Errno::PERM) => refuse(*pid),
            Err(_) => {} // exited since /proc was listed
        }
    });
    let chunks: Vec<(&FdDir, &[u32])> = dirs
        .iter()
        .flat_map(|dir| dir.fds.chunks(CHUNK).map(move |fds| (dir, fds)))
        .collect();
    // A process may list its fds yet refuse their links (seen as root: pid 1 of a sandbox).
    // The kernel refuses all of one process's links or none: count it at its first chunk.
    let pairs = in_parallel(
        threads,
        &chunks,
        |(dir, fds), pairs: &mut Vec<(u32, u32)>| {
            let first_chunk = std::ptr::eq(fds.as_ptr(), dir.fds.as_ptr());
            if read_socket_links(dir, fds, pairs) && first_chunk {
                refuse(dir.pid);
            }
        },
    );
    let holders: HashSet<u32> = pairs.iter().map(|&(_, pid)| pid).collect();
    let holding: Vec<&FdDir> = dirs.iter().filter(|d| holders.contains(&d.pid)).collect();
    let starts = in_parallel(threads, &holding, |dir, starts: &mut Vec<(u32, u64)>| {
        starts.extend(start_ticks_at(&dir.dir, "../stat").map(|start| (dir.pid, start)));
    });
    Read {
        pairs,
        refused: refused.into_inner().unwrap_or_default(),
        starts,
        fd_counts: dirs.iter().map(|dir| (dir.pid, dir.fds.len())).collect(),
    }
}

/// Whether process `pid` holds socket `inode` (false when it cannot be read).
pub fn holds(pid: u32, inode: u32) -> bool {
    let Ok(dir) = open_fd_dir(pid) else {
        return false;
    };
    let mut pairs = Vec::new();
    read_socket_links(&dir, &dir.fds, &mut pairs);
    pairs.iter().any(|&(held, _)| held == inode)
}

/// The users refused processes run as.
fn owners_of(pids: &[u32]) -> Vec<u32> {
    let mut uids: Vec<u32> = pids.iter().filter_map(|&pid| uid_of(pid)).collect();
    uids.sort_unstable();
    uids.dedup();
    uids
}

/// The effective uid of `pid`: /proc/PID belongs to it.
fn uid_of(pid: u32) -> Option<u32> {
    let mut path = [0u8; 32];
    let path = c_path(&mut path, format_args!("/proc/{pid}"));
    rustix::fs::stat(path).ok().map(|stat| stat.st_uid)
}

/// Runs `work` on every item, spread over `threads` threads that take items in turn, and
/// concatenates what they collect. A few items (the card's owners, a wait that reads no owner)
/// are worked through here: a thread costs more than they do.
fn in_parallel<T: Sync, R: Send>(
    threads: usize,
    items: &[T],
    work: impl Fn(&T, &mut Vec<R>) + Sync,
) -> Vec<R> {
    if items.len() < threads.max(2) {
        let mut found = Vec::new();
        items.iter().for_each(|item| work(item, &mut found));
        return found;
    }
    let next = AtomicUsize::new(0);
    let collected = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let mut found = Vec::new();
                while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                    work(item, &mut found);
                }
                // A poisoned lock means another worker panicked; scope re-raises that panic.
                if let Ok(mut all) = collected.lock() {
                    all.append(&mut found);
                }
            });
        }
    });
    collected.into_inner().unwrap_or_default()
}

fn list_pids() -> rustix::io::Result<Vec<u32>> {
    Ok(numbered_entries(c"/proc")?.1)
}

fn open_fd_dir(pid: u32) -> rustix::io::Result<FdDir> {
    let mut path = [0u8; 32];
    let (dir, fds) = numbered_entries(c_path(&mut path, format_args!("/proc/{pid}/fd")))?;
    Ok(FdDir { pid, dir, fds })
}

/// Opens a directory and lists the entries named by a number: pids in /proc, fds in a fd dir.
fn numbered_entries(path: &CStr) -> rustix::io::Result<(OwnedFd, Vec<u32>)> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let dir = openat(CWD, path, flags, Mode::empty())?;
    let mut numbers = Vec::new();
    for entry in Dir::read_from(&dir)? {
        if let Some(number) = parse_number(entry?.file_name().to_bytes()) {
            numbers.push(number);
        }
    }
    Ok((dir, numbers))
}

/// Reads the links of `fds`; returns whether the kernel refused any of them.
fn read_socket_links(dir: &FdDir, fds: &[u32], pairs: &mut Vec<(u32, u32)>) -> bool {
    let (mut name, mut target) = ([0u8; 16], [0u8; 64]);
    let mut refused = false;
    for &fd in fds {
        let name = c_path(&mut name, format_args!("{fd}"));
        match readlinkat_raw(&dir.dir, name, &mut target[..]) {
            Ok(len) => {
                if let Some(inode) = socket_inode(&target[..len]) {
                    pairs.push((inode, dir.pid));
                }
            }
            Err(Errno::ACCESS | Errno::PERM) => refused = true,
            // A closed fd (ENOENT) or a vanished process (ESRCH) just holds nothing any more.
            Err(_) => {}
        }
    }
    refused
}

/// Formats a short path into `buf` as a C string; the paths here always fit.
fn c_path<'a>(buf: &'a mut [u8], path: std::fmt::Arguments) -> &'a CStr {
    let capacity = buf.len() - 1;
    let mut cursor = &mut buf[..capacity];
    let _ = cursor.write_fmt(path);
    let len = capacity - cursor.len();
    buf[len] = 0;
    CStr::from_bytes_until_nul(buf).unwrap_or(c"")
}

fn parse_number(name: &[u8]) -> Option<u32> {
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// Parses a link target such as `socket:[12345]`. sock_diag reports inodes as 32 bits.
fn socket_inode(target: &[u8]) -> Option<u32> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    let inode: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(inode as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn parses_socket_links_only() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"pipe:[12345]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"socket:[12"), None);
    }

    #[test]
    fn owners_are_sorted_deduplicated_and_found_by_inode() {
        let map = OwnerMap::from_pairs(vec![(7, 2), (3, 9), (7, 1), (7, 2)], 0, true);
        assert_eq!(map.pids(7).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(map.pids(3).collect::<Vec<_>>(), [9]);
        assert_eq!(map.pids(5).count(), 0);
    }

    #[test]
    fn finds_our_own_socket_with_any_thread_count() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let link = std::fs::read_link(format!("/proc/self/fd/{}", listener.as_raw_fd())).unwrap();
        let inode = socket_inode(link.to_str().unwrap().as_bytes()).unwrap();
        for threads in [1, 2, 3] {
            let owners = scan(threads).unwrap();
            assert_eq!(owners.pids(inode).collect::<Vec<_>>(), [std::process::id()]);
            assert!(owners.saw_self);
        }
    }

    /// A process of our own that opens a listener each time it is told to: its fd count moves
    /// only then, whatever other tests in this process open or close meanwhile.
    struct Opener {
        child: std::process::Child,
        lines: std::io::BufReader<std::process::ChildStdout>,
    }

    impl Opener {
        fn start() -> Opener {
            // It says when it has started: python opens and closes files while it starts.
            let script = "import socket,sys\nheld=[]\nprint(0,flush=True)\nfor _ in sys.stdin:\n    \
                          s=socket.socket();s.bind(('127.0.0.1',0));s.listen();held.append(s)\n    \
                          print(s.fileno(),flush=True)";
            let mut child = std::process::Command::new("/usr/bin/python3")
                .args(["-c", script])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut lines = std::io::BufReader::new(child.stdout.take().unwrap());
            std::io::BufRead::read_line(&mut lines, &mut String::new()).unwrap();
            Opener { child, lines }
        }

        /// Opens one more listener; its inode.
        fn open(&mut self) -> u32 {
            use std::io::{BufRead, Write};
            writeln!(self.child.stdin.as_mut().unwrap()).unwrap();
            let mut fd = String::new();
            self.lines.read_line(&mut fd).unwrap();
            let link = std::fs::read_link(format!("/proc/{}/fd/{}", self.child.id(), fd.trim()));
            socket_inode(link.unwrap().to_str().unwrap().as_bytes()).unwrap()
        }
    }

    impl Drop for Opener {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[test]
    fn a_remembering_scan_reuses_unchanged_processes_and_rereads_changed_ones() {
        let mut opener = Opener::start();
        let pid = opener.child.id();
        let first = opener.open();
        let mut memory = FdMemory::default();
        let owners = scan_remembering(2, &mut memory).unwrap();
        assert_eq!(owners.pids(first).collect::<Vec<_>>(), [pid]);
        assert_eq!(memory.reused, 0, "nothing to reuse the first time");
        let owners = scan_remembering(2, &mut memory).unwrap();
        assert!(memory.reused > 0, "pid 1 at least has not changed");
        assert_eq!(owners.pids(first).collect::<Vec<_>>(), [pid]);
        let second = opener.open();
        let owners = scan_remembering(2, &mut memory).unwrap();
        assert_eq!(owners.pids(second).collect::<Vec<_>>(), [pid]);
        assert_eq!(owners.pids(first).collect::<Vec<_>>(), [pid]);
    }

    #[test]
    fn a_second_look_finds_a_socket_opened_after_the_scan() {
        let mut opener = Opener::start();
        let first = scan(2).unwrap();
        let inode = opener.open();
        let me = rustix::process::geteuid().as_raw();
        let again = scan_changed(2, &HashSet::from([me]), &first).unwrap();
        assert_eq!(first.pids(inode).count(), 0);
        assert_eq!(again.pids(inode).collect::<Vec<_>>(), [opener.child.id()]);
    }

    #[test]
    fn c_paths_are_nul_terminated() {
        let mut buf = [0u8; 32];
        assert_eq!(
            c_path(&mut buf, format_args!("/proc/{}/fd", 4194304)),
            c"/proc/4194304/fd"
        );
    }
}
