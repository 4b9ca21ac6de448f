//! Does every guest of the build fit its host? Memory and hugepages per node, summed over guests.

use super::claims::NodeClaim;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::units::human_kib;

pub fn check_fit(hosts: &[Option<&HostProfile>], names: &[String], claims: &[NodeClaim], diags: &mut Vec<Diagnostic>) {
    for (hi, host) in hosts.iter().enumerate() {
        let Some(host) = host else { continue };
        let name = names.get(hi).map(String::as_str).unwrap_or("");
        check_host_pages(host, hi, name, claims, diags);
        for node in &host.nodes {
            let here: Vec<&NodeClaim> = claims.iter().filter(|c| c.host == hi && c.node == node.id).collect();
            // Plain memory (hugepage-backed memory is drawn from the page pools instead).
            let plain: Vec<&&NodeClaim> = here.iter().filter(|c| c.page_kib.is_none()).collect();
            let total: u64 = plain.iter().map(|c| c.kib).sum();
            let room = node.ordinary_kib();
            if total > room
                && let Some(last) = plain.last()
            {
                let mut parts = vec![human_kib(node.memory_kib)];
                if node.hugepage_kib() > 0 {
                    parts.push(format!("{} in hugepages", human_kib(node.hugepage_kib())));
                }
                if node.reserved_kib > 0 {
                    parts.push(format!("{} reserved", human_kib(node.reserved_kib)));
                }
                let why = if parts.len() > 1 {
                    format!(" ({})", parts.join(" − "))
                } else {
                    String::new()
                };
                diags.push(shortage(
                    last,
                    &plain,
                    format!(
                        "host node {} of `{name}` has {} for ordinary memory{why} but guests bind {} to it",
                        node.id,
                        human_kib(room),
                        human_kib(total)
                    ),
                    NODE_MEMORY,
                    format!("short by {}", human_kib(total - room)),
                    roomier_node(host, node.id, total - room, claims, hi),
                ));
            } else if total > node.free_kib
                && let Some(last) = plain.last()
            {
                diags.push(
                    Diagnostic::warning(
                        FREE_SNAPSHOT,
                        format!(
                            "host node {} of `{name}` had only {} free when it was probed, and guests bind {} to it",
                            node.id,
                            human_kib(node.free_kib),
                            human_kib(total)
                        ),
                        last.span,
                        "more than was free then",
                    )
                    .with_help(format!(
                        "free memory is a snapshot (page cache counts as used); vnumac plans with {} (the total, less hugepage pools and `reserve memory=`); reserve memory in the host block to plan with less",
                        human_kib(room)
                    )),
                );
            }
            let mut sizes: Vec<u64> = here.iter().filter_map(|c| c.page_kib).collect();
            sizes.sort_unstable();
            sizes.dedup();
            for size in sizes {
                let users: Vec<&&NodeClaim> = here.iter().filter(|c| c.page_kib == Some(size)).collect();
                let need: u64 = users.iter().map(|c| c.kib / size.max(1)).sum();
                let have = node
                    .hugepages
                    .iter()
                    .find(|p| p.size_kib == size)
                    .map(|p| p.count)
                    .unwrap_or(0);
                if need > have
                    && let Some(last) = users.last()
                {
                    diags.push(shortage(
                            last,
                            &users,
                            format!(
                                "host node {} of `{name}` has {have} free {} pages but guests need {need}",
                                node.id,
                                human_kib(size)
                            ),
                            NODE_HUGEPAGES,
                            format!("short by {} pages", need - have),
                            format!(
                                "reserve more pages on node {} (`echo {need} > /sys/devices/system/node/node{}/hugepages/hugepages-{size}kB/nr_hugepages`) or bind less memory there",
                                node.id, node.id
                            ),
                        ));
                }
            }
        }
    }
}

fn shortage(
    last: &NodeClaim,
    all: &[&&NodeClaim],
    message: String,
    code: &'static str,
    label: String,
    help: String,
) -> Diagnostic {
    let mut d = Diagnostic::error(code, message, last.span, label);
    for c in all.iter().rev().skip(1).take(4) {
        d = d.with_label(c.span, format!("{} of guest `{}`", human_kib(c.kib), c.guest));
    }
    d.with_help(help)
}

/// Point at a node that could take the excess, if any.
fn roomier_node(host: &HostProfile, short: u32, need: u64, claims: &[NodeClaim], hi: usize) -> String {
    let best = host
        .nodes
        .iter()
        .filter(|n| n.id != short)
        .map(|n| {
            let used: u64 = claims
                .iter()
                .filter(|c| c.host == hi && c.node == n.id && c.page_kib.is_none())
                .map(|c| c.kib)
                .sum();
            (n.id, n.ordinary_kib().saturating_sub(used))
        })
        .filter(|(_, free)| *free >= need)
        // The nearest node with room (what the kernel would fall back to), then the roomiest.
        .min_by_key(|(id, free)| (host.distance(short, *id).unwrap_or(u32::MAX), std::cmp::Reverse(*free)));
    let memoryless = host.node(short).is_some_and(|n| n.memory_kib == 0);
    match best {
        Some((id, free)) if memoryless => format!(
            "host node {short} has no memory at all; node {id}, the nearest with room, has {} unclaimed: bind the cell there (its vCPUs may still run on node {short})",
            human_kib(free)
        ),
        Some((id, free)) => format!(
            "node {id} has {} unclaimed; bind memory there, or shrink the cells on node {short}",
            human_kib(free)
        ),
        None => format!("shrink the cells bound to node {short} by {}", human_kib(need)),
    }
}

/// Hugepages over the whole host: bound and unbound claims together against every node's free pages.
fn check_host_pages(host: &HostProfile, hi: usize, name: &str, claims: &[NodeClaim], diags: &mut Vec<Diagnostic>) {
    let mine: Vec<&NodeClaim> = claims.iter().filter(|c| c.host == hi && c.page_kib.is_some()).collect();
    if !mine.iter().any(|c| c.node == super::claims::ANY_NODE) {
        return; // Bound claims are checked node by node.
    }
    let mut sizes: Vec<u64> = mine.iter().filter_map(|c| c.page_kib).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for size in sizes {
        let users: Vec<&&NodeClaim> = mine.iter().filter(|c| c.page_kib == Some(size)).collect();
        let need: u64 = users.iter().map(|c| c.kib / size.max(1)).sum();
        let have: u64 = host
            .nodes
            .iter()
            .flat_map(|n| n.hugepages.iter())
            .filter(|p| p.size_kib == size)
            .map(|p| p.count)
            .sum();
        if need > have
            && let Some(last) = users.iter().rev().find(|c| c.node == super::claims::ANY_NODE)
        {
            diags.push(shortage(
                last,
                &users,
                format!(
                    "host `{name}` has {have} free {} pages in all but guests need {need}",
                    human_kib(size)
                ),
                NODE_HUGEPAGES,
                format!("short by {} pages", need - have),
                "reserve more hugepages on the host, or back less memory with them".to_string(),
            ));
        }
    }
}
