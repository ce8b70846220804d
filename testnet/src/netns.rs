//! Every node on its own host: a Linux network namespace per node, each with one veth link to a
//! bridge in the caller's namespace, on a private /24 (`10.a.b.0/24`; node `i` is `10.a.b.(i+1)`,
//! the bridge `10.a.b.254`). Each node then has its own IP address, loopback, ports and kernel
//! network stack, as on separate machines; the caller (the load generator, the latency proxy,
//! the L1) reaches every node through the bridge. Needs root (`ip netns`, `ip link`).

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command as StdCommand;

use anyhow::{bail, Context as _};
use tokio::process::Command;

use crate::procstat;

/// The namespaces, veth links and bridge of one network; removed on drop.
pub(crate) struct Hosts {
    /// Distinguishes this network's interface and namespace names from another run's.
    tag: String,
    /// `[10, a, b]`.
    subnet: [u8; 3],
    n: usize,
}

/// Runs `ip ARGS`: what it printed, or a failure with its error output.
fn ip(args: &[&str]) -> anyhow::Result<String> {
    let out = StdCommand::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A `10.a.b.0/24` that no interface here has an address in, starting from one `seed` picks.
fn free_subnet(seed: u32) -> anyhow::Result<[u8; 3]> {
    let used = ip(&["-4", "-o", "addr", "show"])?;
    for attempt in 0..1000u32 {
        let k = seed.wrapping_add(attempt.wrapping_mul(7919)) % (100 * 256);
        let subnet = [10, 100 + (k / 256) as u8, (k % 256) as u8];
        let prefix = format!("inet {}.{}.{}.", subnet[0], subnet[1], subnet[2]);
        if !used.contains(&prefix) {
            return Ok(subnet);
        }
    }
    bail!("no free 10.x.y.0/24 subnet")
}

/// The namespaces in `ip netns list` output that a run whose process is not `running` made
/// (`ordo-{pid in hex}-{i}`), with that run's tag. Names of any other form are not ours.
fn stale(list: &str, running: impl Fn(u32) -> bool) -> Vec<(&str, &str)> {
    list.lines()
        .filter_map(|line| {
            let name = line.split_whitespace().next()?;
            let (tag, i) = name.strip_prefix("ordo-")?.split_once('-')?;
            let pid = u32::from_str_radix(tag, 16).ok()?;
            (i.parse::<usize>().is_ok() && !running(pid)).then_some((name, tag))
        })
        .collect()
}

/// Removes the namespaces and bridges of runs that were killed before they could clean up.
fn remove_stale() {
    let Ok(list) = ip(&["netns", "list"]) else {
        return;
    };
    let stale = stale(&list, procstat::is_running);
    for (name, _) in &stale {
        let _ = ip(&["netns", "del", name]);
    }
    let tags: std::collections::BTreeSet<&str> = stale.iter().map(|(_, tag)| *tag).collect();
    for tag in tags {
        let _ = ip(&["link", "del", &format!("obr{tag}")]);
    }
}

impl Hosts {
    /// Creates `n` namespaces linked to a new bridge, after removing those of runs that were
    /// killed.
    pub(crate) fn create(n: usize) -> anyhow::Result<Self> {
        if !(1..=250).contains(&n) {
            bail!("between 1 and 250 hosts, not {n}");
        }
        remove_stale();
        let pid = std::process::id();
        let hosts = Self {
            tag: format!("{pid:x}"),
            subnet: free_subnet(pid)?,
            n,
        };
        // From here on, drop removes whatever was made.
        let bridge = hosts.bridge();
        ip(&["link", "add", &bridge, "type", "bridge"])
            .context("creating a bridge (network namespaces need root)")?;
        ip(&[
            "addr",
            "add",
            &format!("{}/24", hosts.gateway()),
            "dev",
            &bridge,
        ])?;
        ip(&["link", "set", &bridge, "up"])?;
        for i in 0..n {
            let ns = hosts.namespace(i);
            let veth = hosts.veth(i);
            ip(&["netns", "add", &ns])?;
            ip(&[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ])?;
            ip(&["link", "set", &veth, "master", &bridge])?;
            ip(&["link", "set", &veth, "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", hosts.ip(i)),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }

    /// Node `i`'s address.
    pub(crate) fn ip(&self, i: usize) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, i as u8 + 1)
    }

    /// The bridge's address, in the caller's namespace: where the nodes reach the caller's
    /// listeners.
    pub(crate) fn gateway(&self) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, 254)
    }

    /// Node `i`'s namespace.
    pub(crate) fn namespace(&self, i: usize) -> String {
        format!("ordo-{}-{i}", self.tag)
    }

    fn bridge(&self) -> String {
        format!("obr{}", self.tag)
    }

    fn veth(&self, i: usize) -> String {
        format!("ov{}-{i}", self.tag)
    }

    /// A command that runs `exe` in node `i`'s namespace (`ip netns exec` execs it, so the
    /// child's pid is the program's).
    pub(crate) fn command(&self, i: usize, exe: &Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespace(i)]).arg(exe);
        cmd
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth, and with it the bridge's end.
        for i in 0..self.n {
            let _ = ip(&["netns", "del", &self.namespace(i)]);
        }
        let _ = ip(&["link", "del", &self.bridge()]);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_fit_linux_interface_names_and_addresses_stay_in_the_subnet() {
        let hosts = Hosts {
            tag: format!("{:x}", 4_194_304u32),
            subnet: [10, 123, 45],
            n: 250,
        };
        // IFNAMSIZ is 16 with the terminating zero.
        assert!(hosts.bridge().len() <= 15);
        assert!(hosts.veth(249).len() <= 15);
        assert_eq!(hosts.ip(0), Ipv4Addr::new(10, 123, 45, 1));
        assert_eq!(hosts.ip(249), Ipv4Addr::new(10, 123, 45, 250));
        assert_eq!(hosts.gateway(), Ipv4Addr::new(10, 123, 45, 254));
        // Nothing was created, so nothing is removed.
        std::mem::forget(hosts);
    }

    #[test]
    fn only_namespaces_of_runs_no_longer_running_are_stale() {
        let list = "ordo-1f-0 (id: 3)\nordo-1f-1\nordo-2a-0 (id: 1)\n\
                    ordo-zz-0\nordo-1f\nordo-1f-x\nmine\nordo-3b-2 (id: 7)\n";
        let running = |pid: u32| pid == 0x2a;
        assert_eq!(
            stale(list, running),
            [
                ("ordo-1f-0", "1f"),
                ("ordo-1f-1", "1f"),
                ("ordo-3b-2", "3b")
            ]
        );
        assert!(stale("", running).is_empty());
    }

    #[test]
    fn a_network_of_no_hosts_or_more_than_a_subnet_holds_is_refused_before_anything_is_made() {
        for n in [0, 251] {
            let err = Hosts::create(n).err().unwrap().to_string();
            assert!(err.contains("between 1 and 250"), "{err}");
        }
    }
}
