//! Holds a known population of loopback sockets, spread over worker processes, until killed or
//! until `--seconds` pass. Loopback only: every socket binds 127.0.0.1 or ::1.
//!
//! The parent prints one line, `ready QUERY_PORT PID...`, once every worker holds its sockets,
//! then waits to be killed. Workers exit when the parent's pipe closes (the parent exited, however
//! it died), so nothing is left behind. TCP sockets close with SO_LINGER 0 (a reset): no TIME-WAIT leftovers to
//! inflate the next population.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use socket2::SockRef;

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Established TCP pairs (two sockets each, both ends in the same worker)
    #[arg(long, default_value_t = 40)]
    pairs: usize,
    /// TCP listeners
    #[arg(long, default_value_t = 10)]
    listeners: usize,
    /// UDP sockets; every other one is connected to a peer
    #[arg(long, default_value_t = 10)]
    udp: usize,
    /// Unix stream sockets: connected pairs through one path listener per worker
    #[arg(long, default_value_t = 0)]
    unix: usize,
    /// Worker processes that share the population
    #[arg(long, default_value_t = 4)]
    procs: usize,
    /// Stop after this many seconds
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Internal: run as worker number N
    #[arg(long, hide = true)]
    worker: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.worker {
        Some(index) => worker(&args, index),
        None => parent(&args),
    }
}

fn parent(args: &Args) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut workers: Vec<Child> = (0..args.procs)
        .map(|index| {
            Command::new(&exe)
                .args(std::env::args().skip(1))
                .args(["--worker", &index.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let mut query_port = String::new();
    for worker in &mut workers {
        let stdout = worker.stdout.take().context("worker stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(port) = line.strip_prefix("ready ") else {
            bail!("a worker failed to start")
        };
        if query_port.is_empty() {
            query_port = port.trim().to_owned();
        }
    }
    let pids: Vec<String> = workers.iter().map(|w| w.id().to_string()).collect();
    println!("ready {query_port} {}", pids.join(" "));
    std::io::stdout().flush()?;
    // Until killed or out of time; our exit closes the workers' stdin, which stops them.
    let deadline = args.seconds;
    thread::sleep(Duration::from_secs(deadline));
    Ok(())
}

/// This worker's share of `total`: the first `total % procs` workers take one more.
fn share(total: usize, procs: usize, index: usize) -> usize {
    total / procs + usize::from(index < total % procs)
}

/// Every fourth socket is IPv6, the rest IPv4.
fn loopback(n: usize) -> SocketAddr {
    if n % 4 == 3 {
        SocketAddr::from((Ipv6Addr::LOCALHOST, 0))
    } else {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    }
}

fn worker(args: &Args, index: usize) -> anyhow::Result<()> {
    raise_fd_limit()?;
    let listeners: Vec<TcpListener> = (0..share(args.listeners, args.procs, index).max(1))
        .map(|n| TcpListener::bind(loopback(n)))
        .collect::<Result<_, _>>()?;
    let mut streams = Vec::new();
    for n in 0..share(args.pairs, args.procs, index) {
        let listener = &listeners[n % listeners.len()];
        let client = TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        for stream in [&client, &server] {
            SockRef::from(stream).set_linger(Some(Duration::ZERO))?;
        }
        streams.extend([client, server]);
    }
    let mut udp = Vec::new();
    for n in 0..share(args.udp, args.procs, index) {
        // Sockets 2k and 2k+1 share a family, so the odd one can connect to the even one.
        let socket = UdpSocket::bind(loopback(n / 2))?;
        if n % 2 == 1 {
            let peer: &UdpSocket = &udp[n - 1];
            socket.connect(peer.local_addr()?)?;
        }
        udp.push(socket);
    }
    let unix = unix_pairs(share(args.unix, args.procs, index) / 2, index)?;
    println!("ready {}", listeners[0].local_addr()?.port());
    std::io::stdout().flush()?;
    let parent_gone = thread::spawn(|| {
        let _ = std::io::stdin().read(&mut [0u8; 1]);
    });
    let deadline = Duration::from_secs(args.seconds);
    let started = std::time::Instant::now();
    while !parent_gone.is_finished() && started.elapsed() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    if let Some((_, path, _)) = &unix {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// `pairs` connected Unix stream pairs through a listener at a path of this worker's, as
/// clients of a daemon's socket look: the listener, and both ends of each connection.
type UnixPopulation = (UnixListener, std::path::PathBuf, Vec<UnixStream>);

fn unix_pairs(pairs: usize, index: usize) -> anyhow::Result<Option<UnixPopulation>> {
    if pairs == 0 {
        return Ok(None);
    }
    let path =
        std::env::temp_dir().join(format!("ports-loadgen-{}-{index}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    let mut ends = Vec::with_capacity(2 * pairs);
    for _ in 0..pairs {
        let client = UnixStream::connect(&path)?;
        let (server, _) = listener.accept()?;
        ends.extend([client, server]);
    }
    Ok(Some((listener, path, ends)))
}

/// Large populations need more fds than the default soft limit allows.
fn raise_fd_limit() -> anyhow::Result<()> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    Ok(())
}
