//! L1 logs (`ordo_l1::decode_logs`): the Inbox's forced inclusions and the StakeTable's events
//! that every node reads from the L1 and must agree on. Logs are built from the input
//! (`ordo_fuzz::l1::logs`) with real event topics and arbitrary data. Checked: no panic; every
//! log yields at most one item; the result does not depend on the order the RPC returned the
//! logs in (it sorts by block and log index).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo_fuzz::l1::{logs, CONTRACTS};
use ordo_l1::decode_logs;

fuzz_target!(|data: &[u8]| {
    let logs = logs(data);
    let decoded = decode_logs(&CONTRACTS, &logs);
    if let Ok((inbox, stake)) = &decoded {
        assert!(inbox.len() + stake.len() <= logs.len());
        assert!(inbox.windows(2).all(|w| w[0].l1_block <= w[1].l1_block));
        assert!(stake.windows(2).all(|w| w[0].0 <= w[1].0));
    }
    let mut keys: Vec<_> = logs.iter().map(|l| (l.block_number, l.log_index)).collect();
    keys.sort();
    keys.dedup();
    if keys.len() == logs.len() {
        let mut reversed = logs.clone();
        reversed.reverse();
        let again = decode_logs(&CONTRACTS, &reversed);
        match (&decoded, &again) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            _ => panic!("the log order changed the outcome: {decoded:?} vs {again:?}"),
        }
    }
});
