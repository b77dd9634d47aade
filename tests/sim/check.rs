//! Checkers over a simulated cluster: invariants that must hold after every step ([`Monitor`]), and
//! convergence predicates that must hold once the network has been healthy for long enough. Every check
//! returns `Err(explanation)` rather than panicking, so a caller can wait for it or report it with the seed.

use std::collections::BTreeMap;

use shoal::cluster::node::{flags, NodeId};
use shoal::cluster::state::Health;

use super::{Sim, SimNode};

/// What the step invariants remember between steps.
pub struct Monitor {
    /// Per node: its current_epoch and own config_epoch at the last step.
    epochs: Vec<(u64, u64)>,
    /// Per node: the config epoch it last saw for every other node it knew (not in handshake).
    views: Vec<BTreeMap<NodeId, u64>>,
}

impl Monitor {
    pub fn new(nodes: usize) -> Monitor {
        Monitor { epochs: vec![(0, 0); nodes], views: vec![BTreeMap::new(); nodes] }
    }

    /// The invariants that hold at every instant, whatever the network does:
    /// * a node's current_epoch never decreases, nor does its own config_epoch;
    /// * the config epoch a node has seen for another node never decreases while it keeps knowing that node;
    /// * a node's current_epoch is at least every config epoch it knows (epochs are only ever handed out from
    ///   some node's current_epoch);
    /// * a node lists itself exactly once (one MYSELF entry, under its id; no other entry has its address).
    pub fn after_step(&mut self, nodes: &[SimNode]) -> Result<(), String> {
        for (i, node) in nodes.iter().enumerate() {
            let s = &node.state;
            let me = s.me();
            let (cur, cfg) = (s.current_epoch, me.config_epoch);
            let (prev_cur, prev_cfg) = self.epochs[i];
            if cur < prev_cur {
                return Err(format!("node {i}: currentEpoch went down from {prev_cur} to {cur}"));
            }
            if cfg < prev_cfg {
                return Err(format!("node {i}: its configEpoch went down from {prev_cfg} to {cfg}"));
            }
            self.epochs[i] = (cur, cfg);

            let mut myself_entries = 0;
            let mut view = BTreeMap::new();
            for (id, n) in &s.nodes {
                if n.id != *id {
                    return Err(format!("node {i}: entry {id:?} holds a node named {:?}", n.id));
                }
                if n.is_myself() {
                    myself_entries += 1;
                    if *id != s.myself {
                        return Err(format!("node {i}: {id:?} is flagged myself but I am {:?}", s.myself));
                    }
                    continue;
                }
                if n.port == me.port && n.cport == me.cport && (n.ip == me.ip || n.ip.is_empty()) {
                    return Err(format!("node {i} lists itself twice: {} has my address", n.flag_names()));
                }
                if n.config_epoch > cur {
                    return Err(format!(
                        "node {i}: knows configEpoch {} for {id:?} above its currentEpoch {cur}",
                        n.config_epoch
                    ));
                }
                if n.has(flags::HANDSHAKE) {
                    continue;
                }
                if let Some(&before) = self.views[i].get(id) {
                    if n.config_epoch < before {
                        return Err(format!(
                            "node {i}: configEpoch of {id:?} went down from {before} to {}",
                            n.config_epoch
                        ));
                    }
                }
                view.insert(*id, n.config_epoch);
            }
            if myself_entries != 1 || !s.nodes.contains_key(&s.myself) {
                return Err(format!("node {i} has {myself_entries} entries flagged myself"));
            }
            self.views[i] = view;
        }
        Ok(())
    }
}

/// Every node in `members` knows every other member by its real id, and knows no other node (handshakes
/// aside).
pub fn membership(sim: &Sim, members: &[usize]) -> Result<(), String> {
    let ids: Vec<NodeId> = members.iter().map(|&j| sim.id(j)).collect();
    for &i in members {
        for &j in members {
            if !sim.knows(i, j) {
                let how = sim.flags_seen(i, j).map_or("unknown".to_string(), |f| format!("flags {f:#x}"));
                return Err(format!("node {i} does not know node {j} ({how})"));
            }
        }
        let extra = sim.state(i).nodes.values().filter(|n| !n.has(flags::HANDSHAKE) && !ids.contains(&n.id)).count();
        if extra > 0 {
            return Err(format!("node {i} knows {extra} node(s) outside the cluster"));
        }
    }
    Ok(())
}

/// Every member knows every other member by its real id (nodes outside `members` are not looked at).
pub fn members_know_each_other(sim: &Sim, members: &[usize]) -> Result<(), String> {
    for &i in members {
        for &j in members {
            if !sim.knows(i, j) {
                let how = sim.flags_seen(i, j).map_or("unknown".to_string(), |f| format!("flags {f:#x}"));
                return Err(format!("node {i} does not know node {j} ({how})"));
            }
        }
    }
    Ok(())
}

/// Nodes a member knows that are not members (made-up ids from forged gossip, which Redis adds as they come)
/// never proved themselves: none answered under its id (each is NOADDR, or never sent a PONG), none owns a
/// slot, none is a member's primary.
pub fn strangers_unverified(sim: &Sim, members: &[usize]) -> Result<(), String> {
    let ids: Vec<NodeId> = members.iter().map(|&j| sim.id(j)).collect();
    for &i in members {
        let s = sim.state(i);
        for n in s.nodes.values().filter(|n| !ids.contains(&n.id)) {
            if !n.has(flags::NOADDR) && n.pong_received_ms != 0 {
                return Err(format!("node {i} got a PONG from stranger {:?} ({})", n.id, n.flag_names()));
            }
            if s.slot_count_of(&n.id) > 0 {
                return Err(format!("node {i} maps slots to stranger {:?}", n.id));
            }
            if s.me().primary == Some(n.id) {
                return Err(format!("node {i} replicates stranger {:?}", n.id));
            }
        }
    }
    Ok(())
}

/// No member flags another member PFAIL or FAIL (nodes outside `members` are not looked at).
pub fn no_failures_among(sim: &Sim, members: &[usize]) -> Result<(), String> {
    let ids: Vec<NodeId> = members.iter().map(|&j| sim.id(j)).collect();
    for &i in members {
        for n in sim.state(i).nodes.values().filter(|n| ids.contains(&n.id)) {
            if n.has(flags::PFAIL | flags::FAIL) {
                let j = sim.index_of(&n.id).map_or("?".to_string(), |j| j.to_string());
                return Err(format!("node {i} flags node {j} {}", n.flag_names()));
            }
        }
    }
    Ok(())
}

/// No node has a handshake left over.
pub fn no_handshakes(sim: &Sim, members: &[usize]) -> Result<(), String> {
    for &i in members {
        let n = sim.state(i).nodes.values().filter(|n| n.has(flags::HANDSHAKE)).count();
        if n > 0 {
            return Err(format!("node {i} still has {n} handshake(s)"));
        }
    }
    Ok(())
}

/// All members agree on every slot's owner, and on the owner's config epoch (which is the owner's own).
pub fn slots(sim: &Sim, members: &[usize]) -> Result<(), String> {
    let Some(&first) = members.first() else { return Ok(()) };
    for slot in 0..shoal::slot::SLOT_COUNT as u16 {
        let owner = sim.state(first).slot_owner(slot);
        for &i in &members[1..] {
            let other = sim.state(i).slot_owner(slot);
            if other != owner {
                return Err(format!("slot {slot}: node {first} says {owner:?}, node {i} says {other:?}"));
            }
        }
    }
    let owners: Vec<NodeId> = {
        let mut v: Vec<NodeId> =
            (0..shoal::slot::SLOT_COUNT as u16).filter_map(|s| sim.state(first).slot_owner(s)).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    for owner in owners {
        let Some(o) = sim.index_of(&owner) else {
            return Err(format!("slots owned by {owner:?}, not a node of the sim"));
        };
        let truth = sim.state(o).me().config_epoch;
        if !sim.state(o).me().is_primary() {
            return Err(format!("node {o} owns slots but is not a primary"));
        }
        for &i in members {
            let Some(n) = sim.state(i).nodes.get(&owner) else {
                return Err(format!("node {i} maps slots to {owner:?}, which it does not know"));
            };
            if n.config_epoch != truth {
                return Err(format!("node {i} sees configEpoch {} for node {o}, which has {truth}", n.config_epoch));
            }
            if !n.is_primary() {
                return Err(format!("node {i} maps slots to node {o} but sees it as a replica"));
            }
        }
    }
    Ok(())
}

/// Every member sees every other member's role (primary, or replica of whom) as that member has it.
pub fn roles(sim: &Sim, members: &[usize]) -> Result<(), String> {
    for &j in members {
        let me = sim.state(j).me();
        for &i in members {
            let Some(n) = sim.state(i).nodes.get(&me.id) else {
                return Err(format!("node {i} does not know node {j}"));
            };
            if n.is_replica() != me.is_replica() || n.primary != me.primary {
                return Err(format!(
                    "node {i} sees node {j} as {} of {:?}; it is {} of {:?}",
                    n.flag_names(),
                    n.primary,
                    me.flag_names(),
                    me.primary
                ));
            }
        }
    }
    Ok(())
}

/// Primaries' config epochs are pairwise distinct.
pub fn distinct_epochs(sim: &Sim, members: &[usize]) -> Result<(), String> {
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for &i in members {
        let me = sim.state(i).me();
        if me.is_primary() {
            if let Some(j) = seen.insert(me.config_epoch, i) {
                return Err(format!("nodes {j} and {i} both have configEpoch {}", me.config_epoch));
            }
        }
    }
    Ok(())
}

/// No member flags any node PFAIL or FAIL.
pub fn no_failures(sim: &Sim, members: &[usize]) -> Result<(), String> {
    for &i in members {
        for n in sim.state(i).nodes.values() {
            if n.has(flags::PFAIL | flags::FAIL) {
                let j = sim.index_of(&n.id).map_or("?".to_string(), |j| j.to_string());
                return Err(format!("node {i} flags node {j} {}", n.flag_names()));
            }
        }
    }
    Ok(())
}

pub fn health_ok(sim: &Sim, members: &[usize]) -> Result<(), String> {
    for &i in members {
        if sim.state(i).health != Health::Ok {
            return Err(format!("node {i} reports cluster_state fail"));
        }
    }
    Ok(())
}

/// The whole picture after healing: membership, no handshakes, roles, slot owners and epochs.
pub fn converged(sim: &Sim, members: &[usize]) -> Result<(), String> {
    membership(sim, members)?;
    no_handshakes(sim, members)?;
    roles(sim, members)?;
    slots(sim, members)
}

/// `0..n` as a vector (all nodes of a sim).
pub fn all(sim: &Sim) -> Vec<usize> {
    (0..sim.len()).collect()
}
