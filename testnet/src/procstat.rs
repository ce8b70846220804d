//! CPU time and resident memory of a process, read from `/proc` (Linux).

use std::time::Instant;

/// One reading of a process.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProcSample {
    /// When it was read.
    pub(crate) at: Instant,
    /// User plus system CPU time, in seconds.
    pub(crate) cpu_s: f64,
    /// Resident set size, in KiB.
    pub(crate) rss_kib: u64,
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// The fields of a `/proc/PID/stat` line after the command name (field 2), which may hold
/// spaces and parentheses: everything after the last ')', from the state (field 3) on.
fn fields_after_name(stat: &str) -> Option<std::str::SplitWhitespace<'_>> {
    Some(stat.get(stat.rfind(')')? + 1..)?.split_whitespace())
}

/// Parses the CPU seconds (utime + stime) out of a `/proc/PID/stat` line.
pub(crate) fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let fields: Vec<&str> = fields_after_name(stat)?.collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Parses the state (field 3: `R`, `S`, `Z` for a zombie, ...) out of a `/proc/PID/stat` line.
fn parse_stat_state(stat: &str) -> Option<char> {
    fields_after_name(stat)?.next()?.chars().next()
}

/// Whether process `pid` exists and has not exited (a killed process its parent has not reaped
/// yet is a zombie: it has exited).
pub(crate) fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| parse_stat_state(&stat).is_some_and(|state| state != 'Z'))
}

/// Parses `VmRSS` (KiB) out of `/proc/PID/status`.
pub(crate) fn parse_status_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Reads process `pid` now; `None` if it does not exist (or this is not Linux).
pub(crate) fn sample(pid: u32) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(ProcSample {
        at: Instant::now(),
        cpu_s: parse_stat_cpu_ticks(&stat)? as f64 / clock_ticks_per_second(),
        rss_kib: parse_status_rss_kib(&status)?,
    })
}

/// CPU use between two readings, in percent of one core.
pub(crate) fn cpu_percent(before: &ProcSample, after: &ProcSample) -> f64 {
    let wall = after.at.duration_since(before.at).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    ((after.cpu_s - before.cpu_s) / wall * 100.0).max(0.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_stat_with_spaces_and_parens_in_the_name() {
        let line = "1234 (ordo (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 200 300";
        assert_eq!(parse_stat_cpu_ticks(line), Some(300));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
        assert_eq!(parse_stat_cpu_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn parses_the_state_after_a_name_with_parentheses() {
        assert_eq!(parse_stat_state("42 (a) b) Z 1 2"), Some('Z'));
        assert_eq!(parse_stat_state("42 (ordo) S 1 2"), Some('S'));
        assert_eq!(parse_stat_state("no parenthesis"), None);
        assert!(is_running(std::process::id()));
    }

    #[test]
    fn parses_rss() {
        let status = "Name:\tordo\nVmPeak:\t  9 kB\nVmRSS:\t   51234 kB\nThreads:\t4\n";
        assert_eq!(parse_status_rss_kib(status), Some(51_234));
        assert_eq!(parse_status_rss_kib("Name: x\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.rss_kib > 0);
        assert!(sample(u32::MAX).is_none());
    }
}
