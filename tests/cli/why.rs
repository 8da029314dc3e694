//! `ports why`: each scenario is set up with real sockets, predicted by `ports why`, then
//! checked by a real bind() with the same options right after. Every prediction must match
//! the kernel's answer, and a failure's text must name what is in the way.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use crate::kernel::Vxlan;
use crate::netns::NetnsGuard;
use crate::privilege::{AS_NOBODY, assert_root, ports_as_nobody};
use crate::support::{PYTHON, explain, free_port, ports};

/// Holds a socket: argv kind (listen, bound, udp), address, SO_REUSEADDR, SO_REUSEPORT,
/// IPV6_V6ONLY, port (0: any); prints the port.
const HOLD: &str = "import socket,sys,time\n\
kind,addr=sys.argv[1],sys.argv[2]\nra,rp,v6,port=(int(x) for x in sys.argv[3:7])\n\
fam=socket.AF_INET6 if ':' in addr else socket.AF_INET\n\
s=socket.socket(fam,socket.SOCK_DGRAM if kind=='udp' else socket.SOCK_STREAM)\n\
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,ra)\n\
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEPORT,rp)\n\
if fam==socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,v6)\n\
s.bind((addr,port))\n\
if kind=='listen': s.listen()\n\
print(s.getsockname()[1],flush=True);time.sleep(60)";

/// Leaves a server's closed connection in TIME-WAIT on 127.0.0.1: argv whether the server
/// set SO_REUSEADDR (its accepted socket inherits it); prints the port.
const TIME_WAIT: &str = "import socket,sys,time\n\
l=socket.socket();l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,int(sys.argv[1]))\n\
l.bind(('127.0.0.1',0));l.listen();p=l.getsockname()[1]\n\
c=socket.create_connection(('127.0.0.1',p));a,_=l.accept()\n\
a.close();time.sleep(0.1);c.close();l.close();time.sleep(0.1);print(p,flush=True)";

/// The real bind: argv proto, address, port, SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY; TCP
/// listens too, as a server does; prints `ok` or the errno's name, and closes.
const BIND: &str = "import socket,sys,errno\n\
proto,addr=sys.argv[1],sys.argv[2]\nport,ra,rp,v6=(int(x) for x in sys.argv[3:7])\n\
fam=socket.AF_INET6 if ':' in addr else socket.AF_INET\n\
s=socket.socket(fam,socket.SOCK_DGRAM if proto=='udp' else socket.SOCK_STREAM)\n\
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,ra)\n\
s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEPORT,rp)\n\
if fam==socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,v6)\n\
try:\n  s.bind((addr,port))\n  proto=='tcp' and s.listen()\n  print('ok')\n\
except OSError as e: print(errno.errorcode[e.errno])";

/// A holder process, killed on drop.
struct Held {
    child: Child,
    port: u16,
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs HOLD (in namespace `netns` if given) on a port no socket here uses in either protocol
/// or family (a port the kernel picked for one could be another's client port), and reads it.
fn hold(netns: Option<&str>, args: &[&str]) -> Held {
    let mut command = in_netns(netns);
    let port = free_port().to_string();
    command
        .args(["-c", HOLD])
        .args(args)
        .arg(port)
        .stdout(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("holder said {line:?}"));
    Held { child, port }
}

/// python3, run in `netns` when given.
fn in_netns(netns: Option<&str>) -> Command {
    match netns {
        Some(name) => {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", name, PYTHON]);
            command
        }
        None => Command::new(PYTHON),
    }
}

/// One bind to check: what `ports why` is asked and the same bind made for real.
struct Case<'a> {
    proto: &'a str,
    address: &'a str,
    port: u16,
    reuseaddr: bool,
    reuseport: bool,
    v6only: bool,
    netns: Option<&'a str>,
    nobody: bool,
}

impl<'a> Case<'a> {
    fn tcp(address: &'a str, port: u16) -> Case<'a> {
        Case {
            proto: "tcp",
            address,
            port,
            reuseaddr: false,
            reuseport: false,
            v6only: false,
            netns: None,
            nobody: false,
        }
    }

    /// `ports why`'s arguments for this bind.
    fn args(&self) -> Vec<String> {
        let address = match self.address.contains(':') {
            true => format!("[{}]", self.address),
            false => self.address.to_owned(),
        };
        let mut args = vec![
            "why".into(),
            format!("{address}:{}/{}", self.port, self.proto),
        ];
        let flags = [
            (self.reuseaddr, "--reuseaddr"),
            (self.reuseport, "--reuseport"),
        ];
        args.extend(flags.iter().filter(|f| f.0).map(|f| f.1.to_owned()));
        if let Some(netns) = self.netns {
            args.extend(["--netns".into(), netns.to_owned()]);
        }
        args
    }

    fn predict(&self) -> Output {
        let args = self.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match self.nobody {
            true => ports_as_nobody(&args),
            false => ports().args(&args).output().unwrap(),
        }
    }

    /// The kernel's answer to the same bind, made right after: `ok` or the errno's name.
    fn bind(&self) -> String {
        let flag = |on: bool| if on { "1" } else { "0" };
        let mut command = match self.nobody {
            true => {
                let mut command = Command::new("setpriv");
                command.args(AS_NOBODY).arg(PYTHON);
                command
            }
            false => in_netns(self.netns),
        };
        let port = self.port.to_string();
        let options = [
            flag(self.reuseaddr),
            flag(self.reuseport),
            flag(self.v6only),
        ];
        let output = command
            .args(["-c", BIND, self.proto, self.address, &port])
            .args(options)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Predicts, binds, and checks they agree; a failure must name `in_the_way`. Returns the
    /// prediction's text.
    fn check(&self, succeeds: bool, in_the_way: &str) -> String {
        let predicted = self.predict();
        let text = String::from_utf8_lossy(&predicted.stdout).into_owned();
        let said = explain(
            &self.args().iter().map(String::as_str).collect::<Vec<_>>(),
            &predicted,
        );
        let real = self.bind();
        let code = predicted.status.code();
        assert_eq!(
            code,
            Some(if real == "ok" { 0 } else { 1 }),
            "bind said {real}\n{said}"
        );
        assert_eq!(real == "ok", succeeds, "the scenario itself\n{said}");
        if !succeeds {
            assert!(text.contains(&format!("would fail: {real}")), "{said}");
            assert!(
                text.contains(in_the_way),
                "does not name {in_the_way:?}\n{said}"
            );
        }
        text
    }
}

#[test]
fn a_free_port_is_free() {
    let port = free_port();
    Case::tcp("127.0.0.1", port).check(true, "");
}

#[test]
fn a_listener_on_one_address_blocks_the_wildcard_not_another_address() {
    let held = hold(None, &["listen", "127.0.0.1", "0", "0", "0"]);
    let pid = format!("pid {} python3", held.child.id());
    let text = Case::tcp("0.0.0.0", held.port).check(false, &pid);
    assert!(text.contains("0.0.0.0 covers every address"), "{text}");
    Case::tcp("127.0.0.2", held.port).check(true, "");
    Case::tcp("127.0.0.1", held.port).check(false, &pid);
    // SO_REUSEADDR never shares with a listener: the rules know it, no probe is needed.
    let reuseaddr = Case {
        reuseaddr: true,
        ..Case::tcp("127.0.0.1", held.port)
    };
    let text = reuseaddr.check(false, &pid);
    assert!(!text.contains("probe bind"), "{text}");
}

#[test]
fn a_dual_stack_listener_holds_ipv4_unless_v6only() {
    let dual = hold(None, &["listen", "::", "0", "0", "0"]);
    let text = Case::tcp("0.0.0.0", dual.port).check(false, &format!("pid {}", dual.child.id()));
    assert!(text.contains("without IPV6_V6ONLY"), "{text}");
    let v6only = hold(None, &["listen", "::", "0", "0", "1"]);
    Case::tcp("0.0.0.0", v6only.port).check(true, "");
}

#[test]
fn time_wait_blocks_without_reuseaddr_and_with_it_shares_if_the_old_server_set_it() {
    assert_root();
    let port = |reuse: &str| {
        let output = Command::new(PYTHON)
            .args(["-c", TIME_WAIT, reuse])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse::<u16>()
            .unwrap()
    };
    let reused = port("1");
    let text = Case::tcp("127.0.0.1", reused).check(false, "TIME-WAIT");
    assert!(text.contains("s left)"), "TIME-WAIT's time left: {text}");
    let with = Case {
        reuseaddr: true,
        ..Case::tcp("127.0.0.1", reused)
    };
    with.check(true, "");
    // A server without SO_REUSEADDR left it: the new one's option does not help.
    let plain = port("0");
    let with = Case {
        reuseaddr: true,
        ..Case::tcp("127.0.0.1", plain)
    };
    with.check(false, "TIME-WAIT");
}

#[test]
fn an_address_this_machine_does_not_have_cannot_be_bound() {
    // 192.0.2.1 is TEST-NET-1: documentation only, on no device here.
    let text = Case::tcp("192.0.2.1", free_port()).check(false, "not an address of this machine");
    assert!(text.contains("probe bind"), "{text}");
}

#[test]
fn a_socket_bound_without_listening_holds_its_port() {
    let bound = hold(None, &["bound", "127.0.0.1", "0", "0", "0"]);
    let text =
        Case::tcp("127.0.0.1", bound.port).check(false, &format!("pid {}", bound.child.id()));
    assert!(text.contains("bound without listening"), "{text}");
}

#[test]
fn udp_and_tcp_are_separate_spaces() {
    let udp = hold(None, &["udp", "127.0.0.1", "0", "0", "0"]);
    Case::tcp("127.0.0.1", udp.port).check(true, "");
    let same = Case {
        proto: "udp",
        ..Case::tcp("127.0.0.1", udp.port)
    };
    same.check(false, &format!("pid {}", udp.child.id()));
}

#[test]
fn a_reuseport_listener_shares_only_with_reuseport() {
    let group = hold(None, &["listen", "127.0.0.1", "0", "1", "0"]);
    Case::tcp("127.0.0.1", group.port).check(false, &format!("pid {}", group.child.id()));
    let joining = Case {
        reuseport: true,
        ..Case::tcp("127.0.0.1", group.port)
    };
    joining.check(true, "");
}

#[test]
fn a_listener_in_another_namespace_is_no_conflict_here() {
    assert_root();
    let name = format!("ports-why-{}", std::process::id());
    let _namespace = NetnsGuard::add(&name);
    let up = Command::new("ip")
        .args(["-n", &name, "link", "set", "lo", "up"])
        .status();
    assert!(up.unwrap().success());
    let there = hold(Some(&name), &["listen", "127.0.0.1", "0", "0", "0"]);
    Case::tcp("127.0.0.1", there.port).check(true, "");
    let asked_there = Case {
        netns: Some(&name),
        ..Case::tcp("127.0.0.1", there.port)
    };
    asked_there.check(false, "python3");
}

#[test]
fn a_privileged_port_as_nobody_is_refused_with_eacces() {
    assert_root();
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(start > 900, "this machine lets anyone bind from {start}");
    let port = (900..start)
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .unwrap();
    let case = Case {
        nobody: true,
        ..Case::tcp("127.0.0.1", port)
    };
    case.check(false, "ip_unprivileged_port_start");
    // Root may: the same port is free to it.
    Case::tcp("127.0.0.1", port).check(true, "");
}

#[test]
fn a_port_the_kernel_holds_names_its_device() {
    let vxlan = Vxlan::create("why");
    let case = Case {
        proto: "udp",
        netns: Some(&vxlan.name),
        ..Case::tcp("0.0.0.0", vxlan.port)
    };
    case.check(false, "kernel (vx0: VXLAN id 42)");
}

#[test]
fn the_json_says_the_verdict_the_errno_and_the_reasons() {
    let held = hold(None, &["listen", "127.0.0.1", "0", "0", "0"]);
    let target = format!("127.0.0.1:{}", held.port);
    let output = ports().args(["why", &target, "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["verdict"], "fail");
    assert_eq!(json["errno"], "EADDRINUSE");
    let reason = &json["binds"][0]["reasons"][0];
    assert_eq!(reason["rule"], "listener");
    assert_eq!(reason["socket"]["processes"][0]["pid"], held.child.id());
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn bad_targets_are_refused_with_exit_2() {
    for bad in ["0", "8080/sctp", "localhost:80", "99999"] {
        let output = ports().args(["why", bad]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains(&format!("'{bad}'")), "{stderr}");
    }
}
