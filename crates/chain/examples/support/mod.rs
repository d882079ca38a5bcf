//! What the bench examples read of their own process from /proc (Linux): peak resident
//! memory and the CPU time split between the program and the kernel. The kernel's share is
//! mostly page faults: every fresh page it hands out is zeroed first, which on a VM whose
//! host backs memory lazily costs far more than on bare metal, so the split says how much
//! of a tool's time is the memory it touches rather than the work it does.

/// Peak resident set (VmHWM) in bytes.
pub fn vm_hwm_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .unwrap_or(0)
        * 1024
}

/// CPU seconds in user and kernel mode so far (all threads) and minor page faults.
pub fn cpu_and_faults() -> (f64, f64, u64) {
    // /proc/self/stat: after the command name in parentheses, field 10 is minflt and
    // fields 14 and 15 are utime and stime in clock ticks (USER_HZ, 100 on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields counted from 1 with the pid and name as 1 and 2: index = field - 3.
    (num(11) as f64 / 100.0, num(12) as f64 / 100.0, num(7))
}

/// The figures above as JSON fields.
pub fn process_json() -> serde_json::Value {
    let (user, system, minflt) = cpu_and_faults();
    serde_json::json!({"vm_hwm_bytes": vm_hwm_bytes(), "cpu_user_seconds": user, "cpu_system_seconds": system, "minor_faults": minflt, "huge_pages_off": chain::pages::small_pages_in_force()})
}

