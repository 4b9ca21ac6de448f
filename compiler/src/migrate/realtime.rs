//! The real-time warnings a move brings about on the destination: the moved guest's own
//! (a real-time vCPU that lost a CPU of its own, or shares its core with other threads
//! there) and those of the destination's guests that the moved guest's threads now
//! crowd. Warnings the destination's guests had before the move are not repeated.

use crate::check::checked::{Checked, HostDef};
use crate::check::realtime::{RtGuest, check};
use crate::diagnostics::Diagnostic;
use crate::ir::Guest;
use crate::span::FileId;

/// The real-time warnings on `dest` (host `dhi` of the program, or a profile carrying no
/// guests) once `moved`, which was guest `gi`, runs there.
pub fn warnings(checked: &Checked, gi: usize, dhi: Option<usize>, dest: &HostDef, moved: &Guest) -> Vec<Diagnostic> {
    let rt = |g: &Guest| g.sched.iter().any(|s| s.policy.realtime());
    let there: Vec<&Guest> = checked
        .build
        .guests
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != gi && dhi.is_some() && checked.guest_hosts.get(i).copied().flatten() == dhi)
        .map(|(_, g)| g)
        .collect();
    if !rt(moved) && !there.iter().any(|g| rt(g)) {
        return Vec::new();
    }
    let hosts = [Some(dest)];
    let before = check(&there.iter().map(|&g| on(g)).collect::<Vec<_>>(), &hosts);
    let mut after: Vec<RtGuest<'_>> = there.iter().map(|&g| on(g)).collect();
    after.push(on(moved));
    check(&after, &hosts)
        .into_iter()
        .filter(|d| !before.contains(d))
        .collect()
}

/// A guest on the destination (host 0 of the check), its emulator threads where its pin
/// says. The checked program's guests carry spans of their own files already.
fn on(g: &Guest) -> RtGuest<'_> {
    RtGuest {
        guest: g,
        host: Some(0),
        emulator: g.emulator_pin.as_ref(),
        file: FileId::RELATIVE,
        at: 0,
    }
}
