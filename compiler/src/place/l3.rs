//! Dedicated cores on a host with L3 domains: each cell's cores in as few domains as
//! hold them.

use super::topo::{HostTopo, Ledger};

/// Units → cores on a host with L3 domains. Cell by cell, and within a cell node by node, the
/// cell's k units on a node take k free cores of one L3 domain when some domain there has
/// k free: a domain the build already uses before a fresh one, then the one with the fewest
/// free cores, then the first in core order. Otherwise they take the fewest domains that
/// hold k: the domains with the most free cores whole (a partly used one first on a tie, then
/// the first in core order) until what is left fits in one more, which is then chosen by the
/// one-domain rule. Cores of no domain come last, once every domain is full. `free` lists
/// each node's free cores in core order (socket, die, L3 domain, core id). With `vnuma l3=`,
/// a domain whose cache has the size free comes before one whose cache has not, before
/// every other rule (`full` says which have not).
pub(super) fn cores_by_l3(
    topo: &HostTopo,
    ledger: &Ledger,
    mut free: Vec<Vec<usize>>,
    unit_node: &[(usize, u32, usize)],
    full: &dyn Fn(usize) -> bool,
) -> Vec<(u32, usize)> {
    let mut taken = vec![false; topo.cores.len()];
    let mut portions: std::collections::BTreeMap<(usize, usize), Vec<u32>> = std::collections::BTreeMap::new();
    for &(c, u, node) in unit_node {
        portions.entry((c, node)).or_default().push(u);
    }
    let mut out = Vec::new();
    for ((_, node), mut units) in portions {
        units.sort_unstable();
        let Some(list) = free.get_mut(node) else { continue };
        let chosen = l3_choice(topo, ledger, (&taken, full), list, units.len());
        for &core in &chosen {
            if let Some(t) = taken.get_mut(core) {
                *t = true;
            }
        }
        list.retain(|&core| !taken.get(core).copied().unwrap_or(false));
        out.extend(units.into_iter().zip(chosen));
    }
    out
}

/// k cores out of `list` (one node's free cores, in core order) by the rules of `cores_by_l3`.
fn l3_choice(
    topo: &HostTopo,
    ledger: &Ledger,
    (taken, full): (&[bool], &dyn Fn(usize) -> bool),
    list: &[usize],
    k: usize,
) -> Vec<usize> {
    let used = |core: usize| ledger.core_used.get(core).unwrap_or(false) || taken.get(core).copied().unwrap_or(false);
    let partly = |d: usize| topo.l3_cores.get(d).is_some_and(|cs| cs.iter().any(|&c| used(c)));
    let domain_of = |core: usize| topo.cores.get(core).and_then(|c| c.l3);
    // Free cores per domain: (domain, count, position of the first), in core order.
    let mut domains: Vec<(usize, usize, usize)> = Vec::new();
    for (pos, &core) in list.iter().enumerate() {
        let Some(d) = domain_of(core) else { continue };
        match domains.iter_mut().find(|e| e.0 == d) {
            Some(e) => e.1 += 1,
            None => domains.push((d, 1, pos)),
        }
    }
    // The one-domain rule: the tightest domain holding `need`, partly used ones first.
    let fit = |domains: &[(usize, usize, usize)], need: usize| {
        domains
            .iter()
            .filter(|e| e.1 >= need)
            .min_by_key(|&&(d, count, pos)| (full(d), !partly(d), count, pos))
            .map(|e| e.0)
    };
    let cores_in = |d: usize| list.iter().copied().filter(move |&core| domain_of(core) == Some(d));
    if let Some(d) = fit(&domains, k) {
        return cores_in(d).take(k).collect();
    }
    // The fewest domains: the roomiest whole while the rest fits in none.
    domains.sort_by_key(|&(d, count, pos)| (full(d), std::cmp::Reverse(count), !partly(d), pos));
    let mut chosen = Vec::with_capacity(k);
    let mut rest = &domains[..];
    while let Some((&(d, count, _), tail)) = rest.split_first() {
        let need = k - chosen.len();
        if need == 0 {
            break;
        }
        if let Some(last) = fit(rest, need) {
            chosen.extend(cores_in(last).take(need));
            break;
        }
        chosen.extend(cores_in(d).take(count));
        rest = tail;
    }
    // Every domain is full: cores of no domain, in core order.
    let need = k - chosen.len();
    chosen.extend(
        list.iter()
            .copied()
            .filter(|&core| domain_of(core).is_none())
            .take(need),
    );
    chosen
}
