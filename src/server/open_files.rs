//! The process's limit on open files, raised at start to cover `limits.max_connections`.

/// Descriptors the broker holds besides client sockets: listeners, the store, logs, the
/// admin and metrics sockets.
const RESERVED: u64 = 64;

/// Raises the soft limit on open files towards what `max_connections` clients need, up to the
/// hard limit, and warns once when even that is short: past it the operating system, not the
/// broker, refuses connections, and they get no CONNACK saying why.
pub fn raise_for(max_connections: usize) {
    let wanted = (max_connections as u64).saturating_add(RESERVED);
    match raise(wanted) {
        Ok(granted) if granted < wanted => tracing::warn!(
            "the open-file limit is {granted}, below limits.max_connections ({max_connections}) plus \
             {RESERVED}: raise it (ulimit -n, or LimitNOFILE in the systemd unit) or lower max_connections"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("could not read or raise the open-file limit: {e}"),
    }
}

/// Sets the soft limit to `wanted` (at most the hard limit) if it is lower; returns the limit
/// now in force.
#[cfg(unix)]
#[allow(unsafe_code)] // getrlimit/setrlimit have no safe wrapper in std.
fn raise(wanted: u64) -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let current: u64 = limit.rlim_cur;
    if current >= wanted || limit.rlim_cur == libc::RLIM_INFINITY {
        return Ok(current.max(wanted));
    }
    let target = if limit.rlim_max == libc::RLIM_INFINITY {
        wanted
    } else {
        wanted.min(limit.rlim_max)
    };
    if target <= current {
        return Ok(current);
    }
    limit.rlim_cur = target;
    // SAFETY: setrlimit reads only the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(target)
}

#[cfg(not(unix))]
fn raise(wanted: u64) -> std::io::Result<u64> {
    Ok(wanted)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)] // as in `raise`
    fn raising_never_lowers_the_limit_and_reports_what_is_in_force() {
        let mut before = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in `raise`.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut before) }, 0);
        let granted = raise(1).unwrap();
        assert!(granted >= 1);
        let mut after = before;
        // SAFETY: as in `raise`.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut after) }, 0);
        assert_eq!(
            after.rlim_cur, before.rlim_cur,
            "a smaller wish changed the limit"
        );
    }
}
