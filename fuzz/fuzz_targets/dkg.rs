//! The key generation's messages (`ordo_enc::dkg::Message`), which validators post in blocks
//! and every node decodes: decoding refuses the bytes or yields a message that encodes back to
//! exactly them; a dealing's sealed shares, and any bytes as a sealed-to-key box, open with a
//! validator's key or are refused, never panic. Also the released keys a proposer commits
//! (`ordo_chain::lane::decode_keys`): keys that decode encode back to exactly the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ordo_enc::dkg::Message;

fuzz_target!(|data: &[u8]| {
    let secret = k256::SecretKey::from_slice(&[7; 32]).expect("a valid key");
    if let Ok(message) = Message::decode(data) {
        assert_eq!(message.encode(), data, "non-canonical bytes: {message:?}");
        if let Message::Deal { round, dealing } = &message {
            for (player, _) in &dealing.private {
                let _ = dealing.open(*round, player, &secret);
            }
        }
    }
    let _ = ordo_enc::open_with_key(&secret, b"ordo/fuzz", data);
    if let Some(keys) = ordo_chain::lane::decode_keys(data) {
        let again: Vec<u8> = keys.iter().flat_map(|k| k.to_bytes()).collect();
        assert_eq!(
            again, data,
            "released keys decoded from non-canonical bytes"
        );
    }
});
