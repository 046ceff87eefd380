//! `softobj bench --pin`: each rayon worker on a CPU of its own.
//!
//! On the 2-vCPU machine of docs/performance.md the scheduler sometimes wakes both workers of
//! a 2-thread pool on the same CPU and leaves them there: one waits in the run queue while
//! the other works (seen in `/proc/self/task/*/schedstat`: milliseconds of run-queue wait
//! per few hundred builds), and a 2-thread build takes as long as a 1-thread one, for a whole
//! process. Pinning worker `i` to the `i`-th CPU the process may use removes that mode; it is
//! what benchmark harnesses (and OpenMP's `OMP_PROC_BIND`, which `bench/vs_pytorch.py` sets
//! for PyTorch's side) do.

/// The CPUs this process may run on, in increasing order.
#[cfg(target_os = "linux")]
pub fn allowed_cpus() -> std::io::Result<Vec<usize>> {
    // SAFETY: `cpu_set_t` is plain data (all zeros is the empty set); `sched_getaffinity`
    // writes at most `size_of::<cpu_set_t>()` bytes into it, and `CPU_ISSET` reads it with
    // an index below `CPU_SETSIZE`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = libc::CPU_SETSIZE as usize;
        Ok((0..n).filter(|&c| libc::CPU_ISSET(c, &set)).collect())
    }
}

/// Restricts the calling thread to `cpu`.
#[cfg(target_os = "linux")]
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    // SAFETY: as above; `CPU_SET` is given an index below `CPU_SETSIZE` (one of the CPUs
    // `allowed_cpus` returned), and pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Pinning needs Linux.
#[cfg(not(target_os = "linux"))]
pub fn allowed_cpus() -> std::io::Result<Vec<usize>> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "thread pinning is implemented for Linux only",
    ))
}

/// Pinning needs Linux.
#[cfg(not(target_os = "linux"))]
pub fn pin_current_thread(_cpu: usize) -> std::io::Result<()> {
    allowed_cpus().map(|_| ())
}
